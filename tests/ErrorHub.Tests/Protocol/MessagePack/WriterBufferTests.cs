using System.Buffers;
using ErrorHub.Protocol.MessagePack;
using FluentAssertions;
using Xunit;
using static ErrorHub.Tests.Protocol.MessagePack.MessagePackTestSupport;

namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>
/// The writer's buffer handling against outputs that behave differently: tiny growing buffers, outputs that
/// hand out exactly what was asked for, outputs that hand out more than asked and are full of garbage.
/// Each test writes the same values to a reference output and compares the bytes.
/// </summary>
public sealed class WriterBufferTests
{
    [Fact]
    public void Writer_produces_the_same_bytes_through_a_tiny_ArrayBufferWriter()
    {
        var expected = WriteMixedValues(new ArrayBufferWriter<byte>(1 << 20));

        var tiny = new ArrayBufferWriter<byte>(initialCapacity: 1);
        var written = WriteMixedValues(tiny);

        written.Should().Equal(expected);
        MpCodec.Decode(written).ToString().Should().Be(MixedValuesDocument().ToString());
    }

    [Fact]
    public void Writer_produces_the_same_bytes_through_an_output_that_returns_exactly_the_requested_size()
    {
        var expected = WriteMixedValues(new ArrayBufferWriter<byte>());
        var output = new StrictBufferWriter(extraBytes: 0);

        var written = WriteMixedValues(output);

        written.Should().Equal(expected);
        output.GetSpanCalls.Should().BeGreaterThan(1, "the document is larger than one requested span");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public void Writer_produces_the_same_bytes_through_an_output_that_returns_more_than_requested(int extraBytes)
    {
        var expected = WriteMixedValues(new ArrayBufferWriter<byte>());

        WriteMixedValues(new StrictBufferWriter(extraBytes)).Should().Equal(expected);
    }

    [Fact]
    public void Writer_writes_thousands_of_small_values_through_a_one_byte_initial_buffer()
    {
        var tiny = new ArrayBufferWriter<byte>(initialCapacity: 1);
        var strict = new StrictBufferWriter(extraBytes: 0);
        var reference = new ArrayBufferWriter<byte>();

        foreach (var output in new IBufferWriter<byte>[] { tiny, strict, reference })
        {
            var writer = new MessagePackWriter(output);
            writer.WriteArrayHeader(3000);
            for (var index = 0; index < 3000; index++)
            {
                switch (index % 6)
                {
                    case 0: writer.Write(index); break;
                    case 1: writer.Write(-index); break;
                    case 2: writer.Write("s" + index); break;
                    case 3: writer.Write(index % 2 == 0); break;
                    case 4: writer.WriteNil(); break;
                    default: writer.Write((ulong)index << 40); break;
                }
            }

            writer.Flush();
        }

        tiny.WrittenSpan.ToArray().Should().Equal(reference.WrittenSpan.ToArray());
        strict.Written.Should().Equal(reference.WrittenSpan.ToArray());

        var reader = new MessagePackReader(reference.WrittenSpan);
        reader.ReadArrayHeader().Should().Be(3000);
        for (var index = 0; index < 3000; index++)
        {
            switch (index % 6)
            {
                case 0: reader.ReadInt32().Should().Be(index); break;
                case 1: reader.ReadInt32().Should().Be(-index); break;
                case 2: reader.ReadString().Should().Be("s" + index); break;
                case 3: reader.ReadBoolean().Should().Be(index % 2 == 0); break;
                case 4: reader.ReadNil(); break;
                default: reader.ReadUInt64().Should().Be((ulong)index << 40); break;
            }
        }

        reader.End.Should().BeTrue();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(250)]
    [InlineData(251)]
    [InlineData(252)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(300)]
    [InlineData(65536)]
    public void Writer_handles_values_that_do_not_fit_the_rest_of_the_current_span(int prefixBytes)
    {
        // The prefix leaves the current span almost full, so the next value has to move to a new one.
        var prefix = new byte[prefixBytes];
        var large = new string('x', 1000);
        var outputs = new (string Name, IBufferWriter<byte> Output, Func<byte[]> Written)[3];
        var strict = new StrictBufferWriter(extraBytes: 0);
        var tiny = new ArrayBufferWriter<byte>(1);
        var reference = new ArrayBufferWriter<byte>();
        outputs[0] = ("strict", strict, () => strict.Written);
        outputs[1] = ("tiny", tiny, () => tiny.WrittenSpan.ToArray());
        outputs[2] = ("reference", reference, () => reference.WrittenSpan.ToArray());

        foreach (var (_, output, _) in outputs)
        {
            var writer = new MessagePackWriter(output);
            writer.WriteBinary(prefix);
            writer.Write(large);
            writer.Write(long.MinValue);
            writer.WriteExtension(3, new byte[300]);
            writer.WriteTimestamp(DateTimeOffset.MaxValue);
            writer.Write("é");
            writer.Flush();
        }

        var expected = reference.WrittenSpan.ToArray();
        foreach (var (name, _, written) in outputs)
        {
            written().Should().Equal(expected, name);
        }

        var reader = new MessagePackReader(expected);
        reader.ReadBinary().Length.Should().Be(prefixBytes);
        reader.ReadString().Should().Be(large);
        reader.ReadInt64().Should().Be(long.MinValue);
        reader.ReadExtension(out _).Length.Should().Be(300);
        reader.ReadTimestamp().Should().Be(DateTimeOffset.MaxValue);
        reader.ReadString().Should().Be("é");
        reader.End.Should().BeTrue();
    }

    [Fact]
    public void Writer_does_not_leave_reserved_but_unused_bytes_in_the_output()
    {
        // Strings, binaries and extensions reserve room for the largest header and give back what they did
        // not use. An output full of garbage shows any byte that was reserved but not written.
        var output = new StrictBufferWriter(extraBytes: 64);
        var writer = new MessagePackWriter(output);

        writer.Write("a");
        writer.WriteUtf8String("b"u8);
        writer.WriteBinary([0x01]);
        writer.WriteExtension(1, [0x02]);
        writer.WriteExtension(1, [0x02, 0x03, 0x04]);
        writer.Write("😀");
        writer.Flush();

        ToHex(output.Written).Should().Be("a161" + "a162" + "c40101" + "d40102" + "c70301020304" + "a4f09f9880");
    }

    [Fact]
    public void Writer_commits_nothing_until_Flush_and_everything_after_it()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(output);

        writer.Write(1);
        writer.Write("two");
        output.WrittenCount.Should().Be(0, "values are buffered until Flush");

        writer.Flush();
        output.WrittenCount.Should().Be(5);

        writer.Flush();
        output.WrittenCount.Should().Be(5, "a second Flush commits nothing more");

        writer.Write(3);
        writer.Flush();
        ToHex(output.WrittenSpan).Should().Be("01a374776f03");
    }

    [Fact]
    public void Writer_continues_after_the_caller_writes_to_the_output_between_flushes()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(output);

        writer.Write(1);
        writer.Flush();
        output.GetSpan(1)[0] = 0xc0;
        output.Advance(1);
        writer.Write(2);
        writer.Flush();

        ToHex(output.WrittenSpan).Should().Be("01c002");
    }

    [Fact]
    public void Writer_with_nothing_written_commits_nothing()
    {
        var output = new StrictBufferWriter(extraBytes: 0);
        var writer = new MessagePackWriter(output);

        writer.Flush();

        output.Written.Should().BeEmpty();
        output.GetSpanCalls.Should().Be(0);
    }

    private static byte[] WriteMixedValues(IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        MpCodec.Write(ref writer, MixedValuesDocument());
        writer.Flush();
        return output switch
        {
            ArrayBufferWriter<byte> array => array.WrittenSpan.ToArray(),
            StrictBufferWriter strict => strict.Written,
            _ => throw new InvalidOperationException(),
        };
    }

    private static MpValue MixedValuesDocument()
    {
        var items = new List<MpValue>();
        foreach (var length in new[] { 0, 1, 31, 32, 200, 255, 256, 1000, 65535, 65536 })
        {
            items.Add(MpValue.Str(new string('q', length)));
            items.Add(MpValue.Str(string.Concat(Enumerable.Repeat("é😀", length / 6))));
            items.Add(MpValue.Bin(Enumerable.Range(0, length).Select(i => (byte)i).ToArray()));
            items.Add(MpValue.Ext(9, Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray()));
            items.Add(MpValue.Int(length));
            items.Add(MpValue.Int(-length));
        }

        items.Add(MpValue.Float64(Math.PI));
        items.Add(MpValue.Float32(2.5f));
        items.Add(MpValue.Int(ulong.MaxValue));
        items.Add(MpValue.Int(long.MinValue));
        items.Add(MpValue.Timestamp(new DateTimeOffset(2024, 2, 29, 12, 0, 0, 1, TimeSpan.Zero)));
        items.Add(MpValue.Map(Enumerable.Range(0, 20).Select(i => (MpValue.Str("k" + i), MpValue.Array(MpValue.Int(i), MpValue.Nil))).ToArray()));
        return MpValue.Array(items.ToArray());
    }

    /// <summary>
    /// An output that checks the <see cref="IBufferWriter{T}"/> contract as strictly as it can: every span it
    /// hands out is a fresh array of the requested size (plus <c>extraBytes</c>) filled with garbage, a span is
    /// invalid after Advance, and Advance may not pass the end of the last span.
    /// </summary>
    private sealed class StrictBufferWriter(int extraBytes) : IBufferWriter<byte>
    {
        private readonly List<byte> _written = [];
        private byte[]? _current;

        public int GetSpanCalls { get; private set; }

        public byte[] Written => [.. _written];

        public void Advance(int count)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            if (_current is null)
            {
                throw new InvalidOperationException("Advance without a span");
            }

            if (count > _current.Length)
            {
                throw new InvalidOperationException($"Advance({count}) passes the end of a {_current.Length}-byte span");
            }

            _written.AddRange(_current.AsSpan(0, count));
            _current = null;
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => NewBuffer(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => NewBuffer(sizeHint);

        private byte[] NewBuffer(int sizeHint)
        {
            GetSpanCalls++;
            _current = new byte[Math.Max(sizeHint, 1) + extraBytes];
            _current.AsSpan().Fill(0xcd);
            return _current;
        }
    }
}
