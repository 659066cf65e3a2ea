using System.Buffers;
using System.Buffers.Binary;
using MessagePack;

namespace ErrorHub.Ingestion.Decoding;

/// <summary>Bytes that are not valid MessagePack, are cut short, hold an unexpected type or break a limit.</summary>
internal sealed class WireFormatException(string message) : FormatException(message);

/// <summary>
/// A MessagePack reader over the body's bytes with the guards that untrusted input needs. Every read checks the format
/// byte, the declared length or count against <see cref="IngestLimits"/> and against the bytes actually left before
/// anything of that size exists, so a header's claim never sizes an allocation; 32-bit lengths and counts are read as
/// the unsigned numbers they are, and nesting is bounded (<see cref="Skip"/>). A problem is a
/// <see cref="WireFormatException"/> naming the byte where the value starts.
/// </summary>
/// <remarks>
/// It reads the span itself, with MessagePack-CSharp's format codes and types (<see cref="MessagePackCode"/>): the
/// library's <see cref="MessagePackReader"/> works on a <see cref="ReadOnlySequence{T}"/> through a sequence reader,
/// and behind these guards every value's header was parsed twice, once to check it and once by the library to read it.
/// Reading the span in one pass took about a third off the decoding of a realistic batch (docs/benchmarks.md, "decode2").
/// </remarks>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly IngestLimits _limits;
    private readonly Utf8StringTable _strings;
    private int _position;
    private int _valueStart;

    public WireReader(ReadOnlyMemory<byte> data, IngestLimits limits)
    {
        _data = data.Span;
        _limits = limits;
        _strings = new Utf8StringTable();
        _position = 0;
        _valueStart = 0;
    }

    /// <summary>Bytes consumed so far.</summary>
    public readonly long Position => _position;

    public readonly bool End => _position >= _data.Length;

    private readonly int Remaining => _data.Length - _position;

    public MessagePackType PeekType()
    {
        var code = PeekCode();
        var type = MessagePackCode.ToMessagePackType(code);
        return type == MessagePackType.Unknown ? throw InvalidCode(code) : type;
    }

    /// <summary>Consumes a nil and returns true, or returns false and consumes nothing.</summary>
    public bool TryReadNil()
    {
        if (PeekCode() != MessagePackCode.Nil)
        {
            return false;
        }

        _position++;
        return true;
    }

    public bool ReadBoolean()
    {
        var code = Expect(MessagePackType.Boolean, "a boolean");
        _position++;
        return code == MessagePackCode.True;
    }

    public long ReadInt64()
    {
        var code = Expect(MessagePackType.Integer, "an integer");
        var length = FixedLength(code);
        Require(length);
        var value = _data.Slice(_position + 1, length - 1);
        long result;
        switch (code)
        {
            case MessagePackCode.UInt8: result = value[0]; break;
            case MessagePackCode.UInt16: result = BinaryPrimitives.ReadUInt16BigEndian(value); break;
            case MessagePackCode.UInt32: result = BinaryPrimitives.ReadUInt32BigEndian(value); break;
            case MessagePackCode.UInt64:
                var unsigned = BinaryPrimitives.ReadUInt64BigEndian(value);
                if (unsigned > long.MaxValue)
                {
                    throw Error($"expected a signed 64-bit integer but found integer {unsigned}");
                }

                result = (long)unsigned;
                break;
            case MessagePackCode.Int8: result = (sbyte)value[0]; break;
            case MessagePackCode.Int16: result = BinaryPrimitives.ReadInt16BigEndian(value); break;
            case MessagePackCode.Int32: result = BinaryPrimitives.ReadInt32BigEndian(value); break;
            case MessagePackCode.Int64: result = BinaryPrimitives.ReadInt64BigEndian(value); break;
            default: result = (sbyte)code; break; // a positive (0x00-0x7f) or negative (0xe0-0xff) fixint is its own value
        }

        _position += length;
        return result;
    }

    public int ReadInt32()
    {
        var start = _position;
        var value = ReadInt64();
        if (value is < int.MinValue or > int.MaxValue)
        {
            _position = start;
            throw Error($"expected a 32-bit integer but found integer {value}");
        }

        return (int)value;
    }

    /// <summary>Reads a float of either width, or an integer, as a double.</summary>
    public double ReadDouble()
    {
        var code = PeekCode();
        var type = MessagePackCode.ToMessagePackType(code);
        if (type is not (MessagePackType.Float or MessagePackType.Integer))
        {
            throw Unexpected("a number", code, type);
        }

        var length = FixedLength(code);
        Require(length);
        switch (code)
        {
            case MessagePackCode.Float32:
                _position += length;
                return BinaryPrimitives.ReadSingleBigEndian(_data.Slice(_position - 4, 4));
            case MessagePackCode.Float64:
                _position += length;
                return BinaryPrimitives.ReadDoubleBigEndian(_data.Slice(_position - 8, 8));
            case MessagePackCode.UInt64:
                _position += length;
                return BinaryPrimitives.ReadUInt64BigEndian(_data.Slice(_position - 8, 8));
            default:
                return ReadInt64();
        }
    }

    /// <summary>
    /// Reads a string, cut to at most <paramref name="maxChars"/> characters before it is made; invalid UTF-8
    /// becomes U+FFFD. Values that come again in the batch (frames, modules, tag names) are made once (<see cref="Utf8StringTable"/>);
    /// field names are never made (<see cref="ReadKey"/>).
    /// </summary>
    public string ReadString(int maxChars = int.MaxValue) => _strings.Get(ReadStringBytes(), maxChars);

    /// <summary>
    /// The text of <paramref name="utf8"/> (bytes this reader returned) as <see cref="ReadString"/> makes it: cut to at most
    /// <paramref name="maxChars"/> characters, invalid UTF-8 as U+FFFD, repeated strings made once.
    /// </summary>
    public string MakeString(ReadOnlySpan<byte> utf8, int maxChars) => _strings.Get(utf8, maxChars);

    /// <summary>
    /// Reads a map key, recognised from its bytes (<see cref="WireKeys"/>), without making a string of it.
    /// <paramref name="nameStart"/> and <paramref name="nameLength"/> locate its UTF-8 bytes in the input, for the path of an
    /// error (text is made of an unknown key only when an error names it).
    /// </summary>
    public WireKey ReadKey(out int nameStart, out int nameLength)
    {
        var utf8 = ReadStringBytes(out nameStart);
        nameLength = utf8.Length;
        return WireKeys.Find(utf8);
    }

    /// <summary>
    /// Reads a string's UTF-8 bytes without making a string, for values parsed straight from their bytes (event ids).
    /// The span is the input's own memory; the same checks as <see cref="ReadString"/> come first.
    /// </summary>
    public ReadOnlySpan<byte> ReadStringBytes() => ReadStringBytes(out _);

    /// <inheritdoc cref="ReadStringBytes()"/>
    /// <param name="start">Where the string's bytes start in the input.</param>
    public ReadOnlySpan<byte> ReadStringBytes(out int start)
    {
        var code = Expect(MessagePackType.String, "a string");
        var payload = ReadPayload(code, "string");
        start = _position - payload.Length;
        return payload;
    }

    public ReadOnlySpan<byte> ReadBinary()
    {
        var code = Expect(MessagePackType.Binary, "binary data");
        return ReadPayload(code, "binary value");
    }

    /// <summary>Reads an array header: the caller then reads that many values.</summary>
    public int ReadArrayHeader()
    {
        var code = Expect(MessagePackType.Array, "an array");
        return ReadCount(code, MessagePackCode.Array16, bytesPerEntry: 1, "array");
    }

    /// <summary>Reads a map header: the caller then reads that many key/value pairs.</summary>
    public int ReadMapHeader()
    {
        var code = Expect(MessagePackType.Map, "a map");
        return ReadCount(code, MessagePackCode.Map16, bytesPerEntry: 2, "map");
    }

    /// <summary>Reads an extension value: its type code comes out in <paramref name="type"/>.</summary>
    public ReadOnlySpan<byte> ReadExtension(out sbyte type)
    {
        var code = Expect(MessagePackType.Extension, "an extension");
        int headerLength;
        long length;
        switch (code)
        {
            case MessagePackCode.FixExt1: headerLength = 2; length = 1; break;
            case MessagePackCode.FixExt2: headerLength = 2; length = 2; break;
            case MessagePackCode.FixExt4: headerLength = 2; length = 4; break;
            case MessagePackCode.FixExt8: headerLength = 2; length = 8; break;
            case MessagePackCode.FixExt16: headerLength = 2; length = 16; break;
            case MessagePackCode.Ext8:
                headerLength = 3;
                RequireHeader(headerLength, "the extension header is incomplete");
                length = _data[_position + 1];
                break;
            case MessagePackCode.Ext16:
                headerLength = 4;
                RequireHeader(headerLength, "the extension header is incomplete");
                length = BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(_position + 1, 2));
                break;
            default: // Ext32
                headerLength = 6;
                RequireHeader(headerLength, "the extension header is incomplete");
                length = BinaryPrimitives.ReadUInt32BigEndian(_data.Slice(_position + 1, 4));
                break;
        }

        RequireHeader(headerLength, "the extension header is incomplete");
        if (length > _limits.MaxRawStringBytes)
        {
            throw Error($"extension of {length} bytes exceeds MaxRawStringBytes ({_limits.MaxRawStringBytes})");
        }

        if (length > Remaining - headerLength)
        {
            throw Truncated($"the extension declares {length} bytes but only {Remaining - headerLength} remain");
        }

        type = unchecked((sbyte)_data[_position + headerLength - 1]);
        var payload = _data.Slice(_position + headerLength, (int)length);
        _position += headerLength + (int)length;
        return payload;
    }

    /// <summary>
    /// Reads the specification's timestamp extension (type -1) in any of its three sizes. Validated here: nanoseconds
    /// past a second are refused, and seconds outside what <see cref="DateTimeOffset"/> holds.
    /// </summary>
    public DateTimeOffset ReadTimestamp()
    {
        var start = _position;
        var data = ReadExtension(out var type);
        long seconds;
        uint nanoseconds;
        switch (type, data.Length)
        {
            case (-1, 4):
                seconds = BinaryPrimitives.ReadUInt32BigEndian(data);
                nanoseconds = 0;
                break;
            case (-1, 8):
                var packed = BinaryPrimitives.ReadUInt64BigEndian(data);
                nanoseconds = (uint)(packed >> 34);
                seconds = (long)(packed & 0x3_ffff_ffffUL);
                break;
            case (-1, 12):
                nanoseconds = BinaryPrimitives.ReadUInt32BigEndian(data);
                seconds = BinaryPrimitives.ReadInt64BigEndian(data[4..]);
                break;
            default:
                _position = start;
                throw Error($"expected a timestamp (extension type -1 of 4, 8 or 12 bytes) but found extension type {type} of {data.Length} bytes");
        }

        const long MinSeconds = -62135596800; // 0001-01-01
        const long MaxSeconds = 253402300799; // 9999-12-31 23:59:59
        if (nanoseconds > 999_999_999)
        {
            _position = start;
            throw Error($"timestamp has {nanoseconds} nanoseconds, out of the range 0 to 999999999");
        }

        if (seconds is < MinSeconds or > MaxSeconds)
        {
            _position = start;
            throw Error($"timestamp of {seconds} seconds is out of the range DateTimeOffset can represent (years 1 to 9999)");
        }

        return DateTimeOffset.UnixEpoch.AddTicks((seconds * TimeSpan.TicksPerSecond) + (nanoseconds / 100));
    }

    /// <summary>The bytes not read yet.</summary>
    public readonly ReadOnlySpan<byte> Rest => _data[_position..];

    /// <summary>Moves past the next value, whose length in bytes the caller knows (the bytes of a value read before, found at <see cref="Rest"/>'s start).</summary>
    public void Advance(int length)
    {
        _valueStart = _position;
        _position += length;
    }

    /// <summary>
    /// The bytes of the next value, and the reader past it, when <see cref="Skip"/> takes it; otherwise false, with the reader
    /// where it was (the caller then reads the value field by field, and refuses it as those reads do).
    /// </summary>
    public bool TrySkip(out ReadOnlySpan<byte> value)
    {
        var start = _position;
        var valueStart = _valueStart;
        try
        {
            Skip();
            value = _data[start.._position];
            return true;
        }
        catch (Exception exception) when (exception is WireFormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            _position = start;
            _valueStart = valueStart;
            value = default;
            return false;
        }
    }

    /// <summary>
    /// Skips one value of any type within <see cref="IngestLimits.MaxDepth"/>, checking every header on the way as the
    /// reads do. The number of values still to skip in each open container is kept in a small stack (on the call stack
    /// for the first levels, pooled beyond), so nesting costs no call-stack depth whatever the limit.
    /// </summary>
    public void Skip()
    {
        var start = _position;
        Span<long> pending = stackalloc long[32];
        long[]? rented = null;
        try
        {
            var depth = 0; // containers entered and not yet finished
            long remaining = 1; // values still to skip at the current level
            while (true)
            {
                if (remaining == 0)
                {
                    if (depth == 0)
                    {
                        return;
                    }

                    remaining = pending[--depth];
                    continue;
                }

                remaining--;
                var type = PeekType();
                if (type is not (MessagePackType.Array or MessagePackType.Map))
                {
                    SkipScalar(type);
                    continue;
                }

                if (depth >= _limits.MaxDepth)
                {
                    throw Error($"nesting exceeds MaxDepth ({_limits.MaxDepth})");
                }

                var count = type == MessagePackType.Array ? ReadArrayHeader() : ReadMapHeader() * 2L;
                if (count == 0)
                {
                    continue;
                }

                if (depth == pending.Length)
                {
                    var larger = ArrayPool<long>.Shared.Rent(pending.Length * 2);
                    pending.CopyTo(larger);
                    if (rented is not null)
                    {
                        ArrayPool<long>.Shared.Return(rented);
                    }

                    rented = larger;
                    pending = larger;
                }

                pending[depth++] = remaining;
                remaining = count;
            }
        }
        catch (WireFormatException)
        {
            _position = start;
            throw;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<long>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Words a slice out of range that got past the guards, for a response that names the byte.</summary>
    public readonly string DescribeOutOfRange() =>
        $"not valid MessagePack (a value runs past the end of the data) at byte {_valueStart}";

    private void SkipScalar(MessagePackType type)
    {
        var code = _data[_position];
        switch (type)
        {
            case MessagePackType.String:
                ReadPayload(code, "string");
                return;
            case MessagePackType.Binary:
                ReadPayload(code, "binary value");
                return;
            case MessagePackType.Extension:
                ReadExtension(out _);
                return;
            default:
                var length = FixedLength(code);
                Require(length);
                _position += length;
                return;
        }
    }

    /// <summary>
    /// Reads a string's or binary value's bytes after checking the length its header declares, before anything of
    /// that size exists.
    /// </summary>
    private ReadOnlySpan<byte> ReadPayload(byte code, string kind)
    {
        int headerLength;
        long length;
        switch (code)
        {
            case >= MessagePackCode.MinFixStr and <= MessagePackCode.MaxFixStr:
                headerLength = 1;
                length = code & 0x1f;
                break;
            case MessagePackCode.Str8 or MessagePackCode.Bin8:
                headerLength = 2;
                Require(headerLength);
                length = _data[_position + 1];
                break;
            case MessagePackCode.Str16 or MessagePackCode.Bin16:
                headerLength = 3;
                Require(headerLength);
                length = BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(_position + 1, 2));
                break;
            default: // Str32, Bin32
                headerLength = 5;
                Require(headerLength);
                length = BinaryPrimitives.ReadUInt32BigEndian(_data.Slice(_position + 1, 4));
                break;
        }

        if (length > _limits.MaxRawStringBytes)
        {
            throw Error($"{kind} of {length} bytes exceeds MaxRawStringBytes ({_limits.MaxRawStringBytes})");
        }

        if (length > Remaining - headerLength)
        {
            throw Truncated($"the {kind} declares {length} bytes but only {Remaining - headerLength} remain");
        }

        var payload = _data.Slice(_position + headerLength, (int)length);
        _position += headerLength + (int)length;
        return payload;
    }

    /// <summary>
    /// Reads an array's or map's count (<paramref name="code16"/> is the format with a 16-bit count; the one with a
    /// 32-bit count follows it) and checks it against the limit and against the bytes left.
    /// </summary>
    private int ReadCount(byte code, byte code16, int bytesPerEntry, string kind)
    {
        int headerLength;
        long count;
        if (code == code16)
        {
            headerLength = 3;
            RequireCountHeader(headerLength, kind);
            count = BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(_position + 1, 2));
        }
        else if (code == code16 + 1)
        {
            headerLength = 5;
            RequireCountHeader(headerLength, kind);
            count = BinaryPrimitives.ReadUInt32BigEndian(_data.Slice(_position + 1, 4));
        }
        else
        {
            headerLength = 1;
            count = code & 0x0f;
        }

        if (count > _limits.MaxCollectionEntries)
        {
            throw Error($"{kind} of {count} entries exceeds MaxCollectionEntries ({_limits.MaxCollectionEntries})");
        }

        // Every entry takes at least one byte: a count the rest of the input cannot hold is truncated input, and
        // refusing it here keeps the decoder from sizing collections by a client's number.
        var remaining = Remaining - headerLength;
        if (count * bytesPerEntry > remaining)
        {
            throw Truncated($"the {kind} declares {count} entries but only {remaining} bytes remain");
        }

        _position += headerLength;
        return (int)count;
    }

    /// <summary>The code of the next value; also where the next error, if any, will point.</summary>
    private byte PeekCode()
    {
        _valueStart = _position;
        if ((uint)_position >= (uint)_data.Length)
        {
            throw Truncated("a value was expected");
        }

        return _data[_position];
    }

    private byte Expect(MessagePackType expected, string what)
    {
        var code = PeekCode();
        var found = MessagePackCode.ToMessagePackType(code);
        return found == expected ? code : throw Unexpected(what, code, found);
    }

    private readonly void Require(int length)
    {
        if (length > Remaining)
        {
            throw Truncated($"the value needs {length} bytes but only {Remaining} remain");
        }
    }

    /// <summary>
    /// <see cref="RequireHeader"/> for an array's or map's header, its message made only when it is thrown: a 16-bit header
    /// (16 entries or more) is common, and the message made first cost 88 bytes a header.
    /// </summary>
    private readonly void RequireCountHeader(int length, string kind)
    {
        if (length > Remaining)
        {
            throw Truncated($"the {kind} header is incomplete");
        }
    }

    private readonly void RequireHeader(int length, string detail)
    {
        if (length > Remaining)
        {
            throw Truncated(detail);
        }
    }

    /// <summary>Bytes of a value whose size its format byte alone gives (nil, booleans, integers, floats).</summary>
    private static int FixedLength(byte code) => code switch
    {
        MessagePackCode.UInt8 or MessagePackCode.Int8 => 2,
        MessagePackCode.UInt16 or MessagePackCode.Int16 => 3,
        MessagePackCode.UInt32 or MessagePackCode.Int32 or MessagePackCode.Float32 => 5,
        MessagePackCode.UInt64 or MessagePackCode.Int64 or MessagePackCode.Float64 => 9,
        _ => 1,
    };

    private readonly WireFormatException Unexpected(string expected, byte code, MessagePackType found) =>
        found == MessagePackType.Unknown
            ? InvalidCode(code)
            : Error($"expected {expected} but found {Describe(found)} (0x{code:x2})");

    private readonly WireFormatException InvalidCode(byte code) => Error($"byte 0x{code:x2} is not a valid MessagePack format");

    private readonly WireFormatException Truncated(string detail) => Error($"unexpected end of data (truncated input): {detail}");

    private readonly WireFormatException Error(string message) => new($"{message} at byte {_valueStart}");

    private static string Describe(MessagePackType type) => type switch
    {
        MessagePackType.Nil => "nil",
        MessagePackType.Boolean => "a boolean",
        MessagePackType.Integer => "an integer",
        MessagePackType.Float => "a float",
        MessagePackType.String => "a string",
        MessagePackType.Binary => "binary data",
        MessagePackType.Array => "an array",
        MessagePackType.Map => "a map",
        _ => "an extension",
    };
}
