using ErrorHub.Protocol.MessagePack;
using FluentAssertions;
using Xunit;
using static ErrorHub.Tests.Protocol.MessagePack.MessagePackTestSupport;

namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>
/// The reader faces untrusted bytes on the server. Whatever they are, it fails with
/// <see cref="MessagePackDecodeException"/> and a message saying what is wrong, never with another exception,
/// never by allocating what a length field claims, never by overflowing the stack.
/// </summary>
public sealed class HostileInputTests
{
    /// <summary>
    /// What a rejected read may allocate: the two exceptions of a measurement, with messages and stack traces
    /// (about 2.3 KB). Far below the declared sizes the tests use (up to 4 GB) and below what honouring even a
    /// 64 KB claim would take.
    /// </summary>
    private const long SmallAllocation = 8 * 1024;

    private static readonly MessagePackReaderLimits Permissive = new()
    {
        MaxDepth = int.MaxValue,
        MaxStringBytes = int.MaxValue,
        MaxBinaryBytes = int.MaxValue,
        MaxCollectionCount = int.MaxValue,
    };

    [Fact]
    public void Reader_rejects_the_document_truncated_at_every_offset()
    {
        var document = MpCodec.Encode(SampleDocuments.ErrorEvent());
        document.Length.Should().BeGreaterThan(500, "the sample is a realistic event");

        for (var length = 0; length < document.Length; length++)
        {
            var prefix = document.AsSpan(0, length);
            var because = $"the document cut to {length} of {document.Length} bytes";

            var (skipError, positionAfterSkip) = ReadFailsAt(prefix, (ref r) => r.Skip());
            skipError.Message.Should().Contain("truncated", because);
            skipError.Offset.Should().BeInRange(0, length, because);
            positionAfterSkip.Should().Be(0, "a failed Skip consumes nothing");

            var decodeError = ReadFails(prefix, (ref r) => MpCodec.Read(ref r, document));
            decodeError.Message.Should().Contain("truncated", because);
            decodeError.Offset.Should().BeInRange(0, length, because);
        }
    }

    [Fact]
    public void Reader_rejects_an_empty_input_for_every_read()
    {
        var reads = new (string Name, ReadAction Read)[]
        {
            ("PeekType", (ref r) => r.PeekType()),
            ("TryReadNil", (ref r) => r.TryReadNil()),
            ("ReadNil", (ref r) => r.ReadNil()),
            ("ReadBoolean", (ref r) => r.ReadBoolean()),
            ("ReadInt32", (ref r) => r.ReadInt32()),
            ("ReadInt64", (ref r) => r.ReadInt64()),
            ("ReadUInt64", (ref r) => r.ReadUInt64()),
            ("ReadDouble", (ref r) => r.ReadDouble()),
            ("ReadString", (ref r) => r.ReadString()),
            ("ReadNullableString", (ref r) => r.ReadNullableString()),
            ("ReadStringBytes", (ref r) => r.ReadStringBytes()),
            ("ReadBinary", (ref r) => r.ReadBinary()),
            ("ReadArrayHeader", (ref r) => r.ReadArrayHeader()),
            ("ReadMapHeader", (ref r) => r.ReadMapHeader()),
            ("ReadExtension", (ref r) => r.ReadExtension(out _)),
            ("ReadTimestamp", (ref r) => r.ReadTimestamp()),
            ("Skip", (ref r) => r.Skip()),
        };

        foreach (var (name, read) in reads)
        {
            var error = ReadFails([], read);
            error.Message.Should().Contain("truncated", name);
            error.Offset.Should().Be(0, name);
        }
    }

    public static TheoryData<string, string> HugeDeclaredLengths() => new()
    {
        { "array32 of 2^32-1 entries", "dd ff ff ff ff" },
        { "array32 of 2^31-1 entries", "dd 7f ff ff ff 01 02" },
        { "array16 of 65535 entries", "dc ff ff 01 02 03" },
        { "fixarray of 15 entries", "9f 01" },
        { "map32 of 2^32-1 entries", "df ff ff ff ff" },
        { "map32 of 2^31-1 entries", "df 7f ff ff ff a1 61 01" },
        { "map16 of 65535 entries", "de ff ff a1 61 01" },
        { "map of 3 entries holding 5 bytes", "83 01 02 03 04 05" },
        { "str32 of 4 GB", "db ff ff ff ff 61 62" },
        { "str32 of 2 GB", "db 7f ff ff ff 61 62" },
        { "str16 of 64 KB", "da ff ff 61" },
        { "str8 of 255 bytes", "d9 ff 61" },
        { "fixstr of 31 bytes", "bf 61" },
        { "bin32 of 4 GB", "c6 ff ff ff ff 00" },
        { "bin32 of 2 GB", "c6 7f ff ff ff 00" },
        { "bin16 of 64 KB", "c5 ff ff 00" },
        { "ext32 of 4 GB", "c9 ff ff ff ff 05 00" },
        { "ext32 of 2 GB", "c9 7f ff ff ff 05 00" },
        { "ext16 of 64 KB", "c8 ff ff 05 00" },
        { "fixext16 with 3 bytes", "d8 05 00 00" },
        { "an array whose second entry declares 4 GB", "92 01 db ff ff ff ff" },
    };

    [Theory]
    [MemberData(nameof(HugeDeclaredLengths))]
    public void Reader_rejects_lengths_and_counts_larger_than_the_input_without_allocating(string name, string hex)
    {
        var input = Hex(hex);
        foreach (var limits in new[] { MessagePackReaderLimits.Default, Permissive })
        {
            // Once to load and compile everything involved, then measured.
            ReadFails(input, (ref r) => MpCodec.Read(ref r, input), limits);

            var before = GC.GetAllocatedBytesForCurrentThread();
            var skipError = ReadFails(input, (ref r) => r.Skip(), limits);
            var decodeError = ReadFails(input, (ref r) => MpCodec.Read(ref r, input), limits);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            allocated.Should().BeLessThan(SmallAllocation, $"{name}: rejecting it must not allocate what it claims");
            foreach (var error in new[] { skipError, decodeError })
            {
                error.Message.Should().MatchRegex("truncated|exceeds Max", name);
            }
        }
    }

    [Theory]
    [InlineData("dd ff ff ff ff", "array", "4294967295")]
    [InlineData("df ff ff ff ff", "map", "4294967295")]
    [InlineData("dd 00 10 00 00", "array", "1048576")]
    public void Reader_names_the_count_a_collection_declares_when_rejecting_it(string hex, string kind, string count)
    {
        var error = ReadFails(Hex(hex), (ref r) => r.Skip());

        error.Message.Should().Contain(kind).And.Contain(count);
    }

    [Fact]
    public void Reader_rejects_a_count_the_remaining_input_cannot_hold_before_the_caller_sizes_anything()
    {
        // Every entry needs at least a byte, a map entry two: the header alone is already known to be a lie.
        var array = ReadFails(Hex("93 01 02"), (ref r) => r.ReadArrayHeader(), Permissive);
        var map = ReadFails(Hex("82 01 02 03"), (ref r) => r.ReadMapHeader(), Permissive);

        array.Message.Should().Contain("3 entries").And.Contain("truncated");
        map.Message.Should().Contain("2 entries").And.Contain("truncated");
        array.Offset.Should().Be(0);
        map.Offset.Should().Be(0);

        new MessagePackReader(Hex("93 01 02 03")).ReadArrayHeader().Should().Be(3, "exactly enough bytes is fine");
        new MessagePackReader(Hex("82 01 02 03 04")).ReadMapHeader().Should().Be(2);
    }

    [Fact]
    public void Reader_enforces_MaxDepth_in_Skip_and_names_the_limit()
    {
        var limits = new MessagePackReaderLimits { MaxDepth = 3 };

        var atLimit = Hex("91 91 91 c0"); // three levels
        var reader = new MessagePackReader(atLimit, limits);
        reader.Skip();
        reader.End.Should().BeTrue();

        var overLimit = Hex("91 91 91 91 c0");
        var error = ReadFails(overLimit, (ref r) => r.Skip(), limits);
        error.Message.Should().Contain("MaxDepth").And.Contain("3");
        error.Offset.Should().Be(3, "the fourth container starts at byte 3");

        var emptyContainersCount = ReadFails(Hex("81 c0 81 c0 91 90"), (ref r) => r.Skip(), limits);
        emptyContainersCount.Message.Should().Contain("MaxDepth");
    }

    [Fact]
    public void Reader_enforces_MaxStringBytes_and_names_the_limit()
    {
        var limits = new MessagePackReaderLimits { MaxStringBytes = 4 };

        new MessagePackReader(Hex("a4 61 62 63 64"), limits).ReadString().Should().Be("abcd");

        var input = Hex("a5 61 62 63 64 65");
        foreach (var read in new ReadAction[] { (ref r) => r.ReadString(), (ref r) => r.ReadStringBytes(), (ref r) => r.Skip() })
        {
            var (error, position) = ReadFailsAt(input, read, limits);
            error.Message.Should().Contain("MaxStringBytes").And.Contain("5 bytes").And.Contain("4");
            position.Should().Be(0);
        }
    }

    [Fact]
    public void Reader_enforces_MaxBinaryBytes_for_binary_and_extensions_and_names_the_limit()
    {
        var limits = new MessagePackReaderLimits { MaxBinaryBytes = 2 };

        new MessagePackReader(Hex("c4 02 01 02"), limits).ReadBinary().Length.Should().Be(2);
        new MessagePackReader(Hex("d5 07 01 02"), limits).ReadExtension(out _).Length.Should().Be(2);

        foreach (var (hex, read) in new (string, ReadAction)[]
        {
            ("c4 03 01 02 03", (ref r) => r.ReadBinary()),
            ("c4 03 01 02 03", (ref r) => r.Skip()),
            ("d6 07 01 02 03 04", (ref r) => r.ReadExtension(out _)),
            ("c7 03 07 01 02 03", (ref r) => r.Skip()),
        })
        {
            var (error, position) = ReadFailsAt(Hex(hex), read, limits);
            error.Message.Should().Contain("MaxBinaryBytes").And.Contain("2");
            position.Should().Be(0);
        }
    }

    [Fact]
    public void Reader_enforces_MaxCollectionCount_for_arrays_and_maps_and_names_the_limit()
    {
        var limits = new MessagePackReaderLimits { MaxCollectionCount = 2 };

        new MessagePackReader(Hex("92 01 02"), limits).ReadArrayHeader().Should().Be(2);
        new MessagePackReader(Hex("82 01 02 03 04"), limits).ReadMapHeader().Should().Be(2);

        foreach (var (hex, read) in new (string, ReadAction)[]
        {
            ("93 01 02 03", (ref r) => r.ReadArrayHeader()),
            ("dc 00 03 01 02 03", (ref r) => r.Skip()),
            ("83 01 02 03 04 05 06", (ref r) => r.ReadMapHeader()),
            ("91 83 01 02 03 04 05 06", (ref r) => r.Skip()),
        })
        {
            var (error, position) = ReadFailsAt(Hex(hex), read, limits);
            error.Message.Should().Contain("MaxCollectionCount").And.Contain("3 entries").And.Contain("2");
            position.Should().Be(0);
        }
    }

    [Fact]
    public void Reader_default_limits_reject_100000_nested_arrays_in_Skip()
    {
        var input = HeaderThenRepeated(string.Empty, 100_000, 0x91);

        var (error, position) = ReadFailsAt(input, (ref r) => r.Skip());

        error.Message.Should().Contain("MaxDepth");
        error.Offset.Should().Be(MessagePackReaderLimits.Default.MaxDepth);
        position.Should().Be(0);
    }

    [Theory]
    [InlineData(0x91)] // [[[...]]]
    [InlineData(0x81)] // {x: {x: ...}} with each map's key being the next map
    public void Reader_skips_100000_nested_containers_without_overflowing_the_stack_when_depth_is_unlimited(byte container)
    {
        // With no depth limit the nesting is bounded only by the input: Skip must not recurse per level.
        var nested = HeaderThenRepeated(string.Empty, 100_000, container);
        var complete = Concat(nested, container == 0x81 ? Hex("c0 c0") : Hex("c0"));
        if (container == 0x81)
        {
            // Each map's value follows its key, which is the inner map: add the 100,000 values after the innermost.
            complete = Concat(complete, HeaderThenRepeated(string.Empty, 100_000 - 1, 0xc0));
        }

        var reader = new MessagePackReader(complete, Permissive);
        reader.Skip();
        reader.End.Should().BeTrue();

        var (error, position) = ReadFailsAt(nested, (ref r) => r.Skip(), Permissive);
        error.Message.Should().Contain("truncated");
        position.Should().Be(0);
    }

    [Fact]
    public void Reader_skips_deep_nesting_with_siblings_at_every_level()
    {
        // [[[... [nil] ..., 1], 1], 1]: after the innermost closes, every level still has a sibling to skip.
        const int Depth = 50_000;
        var input = Concat(
            HeaderThenRepeated(string.Empty, Depth, 0x92),
            Hex("91 c0"),
            HeaderThenRepeated(string.Empty, Depth, 0x01),
            Hex("a1 78"));
        var reader = new MessagePackReader(input, Permissive);

        reader.Skip();

        reader.Position.Should().Be(input.Length - 2);
        reader.ReadString().Should().Be("x");
    }

    [Fact]
    public void Reader_rejects_the_never_used_byte_0xc1_everywhere()
    {
        var reads = new (string Name, ReadAction Read)[]
        {
            ("PeekType", (ref r) => r.PeekType()),
            ("Skip", (ref r) => r.Skip()),
            ("ReadNil", (ref r) => r.ReadNil()),
            ("ReadBoolean", (ref r) => r.ReadBoolean()),
            ("ReadInt64", (ref r) => r.ReadInt64()),
            ("ReadUInt64", (ref r) => r.ReadUInt64()),
            ("ReadDouble", (ref r) => r.ReadDouble()),
            ("ReadString", (ref r) => r.ReadString()),
            ("ReadBinary", (ref r) => r.ReadBinary()),
            ("ReadArrayHeader", (ref r) => r.ReadArrayHeader()),
            ("ReadMapHeader", (ref r) => r.ReadMapHeader()),
            ("ReadExtension", (ref r) => r.ReadExtension(out _)),
            ("ReadTimestamp", (ref r) => r.ReadTimestamp()),
        };

        foreach (var (name, read) in reads)
        {
            var (error, position) = ReadFailsAt(Hex("c1"), read);
            error.Message.Should().Contain("0xc1", name);
            position.Should().Be(0, name);
        }

        var nested = ReadFails(Hex("93 01 a1 61 c1"), (ref r) => r.Skip());
        nested.Message.Should().Contain("0xc1");
        nested.Offset.Should().Be(4);
    }

    private static readonly Dictionary<string, ReadAction> Reads = new()
    {
        ["ReadNil"] = (ref r) => r.ReadNil(),
        ["ReadBoolean"] = (ref r) => r.ReadBoolean(),
        ["ReadInt32"] = (ref r) => r.ReadInt32(),
        ["ReadInt64"] = (ref r) => r.ReadInt64(),
        ["ReadUInt64"] = (ref r) => r.ReadUInt64(),
        ["ReadDouble"] = (ref r) => r.ReadDouble(),
        ["ReadString"] = (ref r) => r.ReadString(),
        ["ReadStringBytes"] = (ref r) => r.ReadStringBytes(),
        ["ReadBinary"] = (ref r) => r.ReadBinary(),
        ["ReadArrayHeader"] = (ref r) => r.ReadArrayHeader(),
        ["ReadMapHeader"] = (ref r) => r.ReadMapHeader(),
        ["ReadExtension"] = (ref r) => r.ReadExtension(out _),
        ["ReadTimestamp"] = (ref r) => r.ReadTimestamp(),
    };

    public static TheoryData<string, string, string, string[], string> WrongTypedReads() => new()
    {
        { "ReadString on an int", "01", "ReadString", ["expected a string", "found an integer"], "ReadInt32" },
        { "ReadStringBytes on nil", "c0", "ReadStringBytes", ["expected a string", "found nil"], "ReadNil" },
        { "ReadMapHeader on an array", "90", "ReadMapHeader", ["expected a map", "found an array"], "ReadArrayHeader" },
        { "ReadArrayHeader on a map", "80", "ReadArrayHeader", ["expected an array", "found a map"], "ReadMapHeader" },
        { "ReadInt32 on int.MaxValue + 1", "ce 80 00 00 00", "ReadInt32", ["32-bit", "2147483648"], "ReadInt64" },
        { "ReadInt32 on int.MinValue - 1", "d3 ff ff ff ff 7f ff ff ff", "ReadInt32", ["32-bit", "-2147483649"], "ReadInt64" },
        { "ReadInt32 on uint64 max", "cf ff ff ff ff ff ff ff ff", "ReadInt32", ["18446744073709551615"], "ReadUInt64" },
        { "ReadInt64 on uint64 max", "cf ff ff ff ff ff ff ff ff", "ReadInt64", ["64-bit", "18446744073709551615"], "ReadUInt64" },
        { "ReadUInt64 on -1", "ff", "ReadUInt64", ["unsigned", "-1"], "ReadInt64" },
        { "ReadUInt64 on long.MinValue", "d3 80 00 00 00 00 00 00 00", "ReadUInt64", ["unsigned", "-9223372036854775808"], "ReadInt64" },
        { "ReadUInt64 on a string", "a1 31", "ReadUInt64", ["expected an integer", "found a string"], "ReadString" },
        { "ReadInt64 on a float", "cb 3f f8 00 00 00 00 00 00", "ReadInt64", ["expected an integer", "found a float"], "ReadDouble" },
        { "ReadDouble on a string", "a1 31", "ReadDouble", ["expected a number", "found a string"], "ReadString" },
        { "ReadBoolean on nil", "c0", "ReadBoolean", ["expected a boolean", "found nil"], "ReadNil" },
        { "ReadNil on false", "c2", "ReadNil", ["expected nil", "found a boolean"], "ReadBoolean" },
        { "ReadBinary on a string", "a1 31", "ReadBinary", ["expected binary", "found a string"], "ReadString" },
        { "ReadExtension on binary", "c4 01 00", "ReadExtension", ["expected an extension", "found binary"], "ReadBinary" },
        { "ReadTimestamp on an int", "01", "ReadTimestamp", ["expected a timestamp", "found an integer"], "ReadInt32" },
        { "ReadTimestamp on extension type 5", "d6 05 00 00 00 00", "ReadTimestamp", ["timestamp", "type 5"], "ReadExtension" },
        { "ReadTimestamp on a 3-byte type -1", "c7 03 ff 00 00 00", "ReadTimestamp", ["timestamp", "3 bytes"], "ReadExtension" },
        { "ReadTimestamp with 10^9 ns", "d7 ff ee 6b 28 00 00 00 00 00", "ReadTimestamp", ["timestamp", "range"], "ReadExtension" },
        { "ReadTimestamp past year 9999", "c7 0c ff 00 00 00 00 00 00 00 3a ff f4 41 80", "ReadTimestamp", ["timestamp", "range"], "ReadExtension" },
        { "ReadTimestamp before year 1", "c7 0c ff 00 00 00 00 ff ff ff f1 88 6e 08 ff", "ReadTimestamp", ["timestamp", "range"], "ReadExtension" },
        { "ReadTimestamp at long.MinValue seconds", "c7 0c ff 00 00 00 00 80 00 00 00 00 00 00 00", "ReadTimestamp", ["timestamp", "range"], "ReadExtension" },
    };

    [Theory]
    [MemberData(nameof(WrongTypedReads))]
    public void Reader_rejects_a_wrong_typed_read_naming_what_it_expected_and_found_and_consumes_nothing(
        string name, string hex, string wrongRead, string[] messageParts, string rightRead)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);
        MessagePackDecodeException? error = null;
        try
        {
            Reads[wrongRead](ref reader);
        }
        catch (MessagePackDecodeException e)
        {
            error = e;
        }

        error.Should().NotBeNull(name);
        foreach (var part in messageParts)
        {
            error!.Message.Should().Contain(part, name);
        }

        error!.Offset.Should().Be(0, name);
        reader.Position.Should().Be(0, $"{name} must not consume input");

        Reads[rightRead](ref reader);
        reader.End.Should().BeTrue($"after {name} failed, the right read takes the whole value");
    }

    [Fact]
    public void Reader_reports_the_offset_of_the_bad_value_inside_a_document()
    {
        // {"a": 1, "b": <truncated str8>}
        var input = Hex("82 a1 61 01 a1 62 d9 05 61");
        var reader = new MessagePackReader(input);
        reader.ReadMapHeader();
        reader.ReadString();
        reader.ReadInt32();
        reader.ReadString();

        var position = reader.Position;
        MessagePackDecodeException? error = null;
        try
        {
            reader.ReadString();
        }
        catch (MessagePackDecodeException e)
        {
            error = e;
        }

        error.Should().NotBeNull();
        error!.Offset.Should().Be(6);
        error.Message.Should().Contain("byte 6").And.Contain("truncated");
        reader.Position.Should().Be(position);
    }

    [Fact]
    public void Decode_exception_is_a_FormatException()
    {
        var error = ReadFails(Hex("c1"), (ref r) => r.Skip());

        error.Should().BeAssignableTo<FormatException>();
    }
}
