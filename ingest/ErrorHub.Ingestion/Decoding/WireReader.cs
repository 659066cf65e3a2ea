using System.Buffers;
using System.Buffers.Binary;
using MessagePack;

namespace ErrorHub.Ingestion.Decoding;

/// <summary>Bytes that are not valid MessagePack, are cut short, hold an unexpected type or break a limit.</summary>
internal sealed class WireFormatException(string message) : FormatException(message);

/// <summary>
/// MessagePack-CSharp's <see cref="MessagePackReader"/> with the guards that untrusted input needs in front of it.
/// Every read checks the format byte, the declared length or count against <see cref="IngestLimits"/> and against
/// the bytes actually left, and only then lets the library read, so the library never allocates what a header
/// claims and never sees what it mishandles: 32-bit lengths and counts of 2^31 and more, which it reads as
/// negative numbers, and nesting, which its own <c>Skip</c> follows without any bound. A problem is a
/// <see cref="WireFormatException"/> naming the byte where the value starts; the library's own exceptions
/// (<see cref="EndOfStreamException"/>, <see cref="MessagePackSerializationException"/>) are not expected past
/// these guards, and <see cref="Describe"/> words them for the caller's safety net.
/// </summary>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly IngestLimits _limits;
    private readonly Utf8StringTable _strings;
    private MessagePackReader _reader;
    private long _valueStart;

    public WireReader(ReadOnlyMemory<byte> data, IngestLimits limits)
    {
        _data = data.Span;
        _limits = limits;
        _strings = new Utf8StringTable();
        _reader = new MessagePackReader(data);
        _valueStart = 0;
    }

    /// <summary>Bytes consumed so far.</summary>
    public long Position => _reader.Consumed;

    public bool End => _reader.End;

    private int Offset => (int)_reader.Consumed;

    private int Remaining => _data.Length - Offset;

    public MessagePackType PeekType()
    {
        var code = PeekCode();
        var type = MessagePackCode.ToMessagePackType(code);
        return type == MessagePackType.Unknown ? throw InvalidCode(code) : type;
    }

    /// <summary>Consumes a nil and returns true, or returns false and consumes nothing.</summary>
    public bool TryReadNil()
    {
        PeekCode();
        return _reader.TryReadNil();
    }

    public bool ReadBoolean()
    {
        Expect(MessagePackType.Boolean, "a boolean");
        return _reader.ReadBoolean();
    }

    public long ReadInt64()
    {
        var code = Expect(MessagePackType.Integer, "an integer");
        Require(FixedLength(code));
        if (code == MessagePackCode.UInt64)
        {
            // The library would throw OverflowException: a client's number is a format problem, not a server fault.
            var unsigned = BinaryPrimitives.ReadUInt64BigEndian(_data.Slice(Offset + 1, 8));
            if (unsigned > long.MaxValue)
            {
                throw Error($"expected a signed 64-bit integer but found integer {unsigned}");
            }
        }

        return _reader.ReadInt64();
    }

    public int ReadInt32()
    {
        var start = _reader;
        var value = ReadInt64();
        if (value is < int.MinValue or > int.MaxValue)
        {
            _reader = start;
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

        Require(FixedLength(code));
        return _reader.ReadDouble();
    }

    /// <summary>
    /// Reads a string, cut to at most <paramref name="maxChars"/> characters before it is made; invalid UTF-8
    /// becomes U+FFFD. Strings that come again in the batch (field names, frames) are made once (<see cref="Utf8StringTable"/>).
    /// </summary>
    public string ReadString(int maxChars = int.MaxValue)
    {
        var code = Expect(MessagePackType.String, "a string");
        CheckPayload(code, "string");
        if (!_reader.TryReadStringSpan(out var utf8))
        {
            return Utf8StringTable.Cut(_reader.ReadString()!, maxChars); // only for a body in several segments, which ours never is
        }

        return _strings.Get(utf8, maxChars);
    }

    /// <summary>
    /// Reads a map key: one of the protocol's field names is answered with its <see cref="ErrorHub.Protocol.WireFields"/>
    /// constant, compared as bytes (<see cref="WireKeys"/>); any other key is read as <see cref="ReadString"/> reads it.
    /// </summary>
    public string ReadKey()
    {
        var code = Expect(MessagePackType.String, "a string");
        CheckPayload(code, "string");
        if (!_reader.TryReadStringSpan(out var utf8))
        {
            return _reader.ReadString()!; // only for a body in several segments, which ours never is
        }

        return WireKeys.Known(utf8) ?? _strings.Get(utf8);
    }

    /// <summary>
    /// Reads a string's UTF-8 bytes without making a string, for values parsed straight from their bytes (event ids).
    /// The span is the input's own memory; the same checks as <see cref="ReadString"/> come first.
    /// </summary>
    public ReadOnlySpan<byte> ReadStringBytes()
    {
        var code = Expect(MessagePackType.String, "a string");
        CheckPayload(code, "string");
        return _reader.TryReadStringSpan(out var utf8) ? utf8 : _reader.ReadStringSequence()!.Value.ToArray();
    }

    public ReadOnlySpan<byte> ReadBinary()
    {
        var code = Expect(MessagePackType.Binary, "binary data");
        CheckPayload(code, "binary value");
        return _reader.ReadBytes()!.Value.FirstSpan;
    }

    /// <summary>Reads an array header: the caller then reads that many values.</summary>
    public int ReadArrayHeader()
    {
        Expect(MessagePackType.Array, "an array");
        var peek = _reader;
        if (!peek.TryReadArrayHeader(out var count))
        {
            throw Truncated("the array header is incomplete");
        }

        CheckCount(unchecked((uint)count), (int)(peek.Consumed - _reader.Consumed), bytesPerEntry: 1, "array");
        _reader = peek;
        return count;
    }

    /// <summary>Reads a map header: the caller then reads that many key/value pairs.</summary>
    public int ReadMapHeader()
    {
        Expect(MessagePackType.Map, "a map");
        var peek = _reader;
        if (!peek.TryReadMapHeader(out var count))
        {
            throw Truncated("the map header is incomplete");
        }

        CheckCount(unchecked((uint)count), (int)(peek.Consumed - _reader.Consumed), bytesPerEntry: 2, "map");
        _reader = peek;
        return count;
    }

    /// <summary>Reads an extension value: its type code comes out in <paramref name="type"/>.</summary>
    public ReadOnlySpan<byte> ReadExtension(out sbyte type)
    {
        Expect(MessagePackType.Extension, "an extension");
        var peek = _reader;
        if (!peek.TryReadExtensionFormatHeader(out var header))
        {
            throw Truncated("the extension header is incomplete");
        }

        if (header.Length > _limits.MaxRawStringBytes)
        {
            throw Error($"extension of {header.Length} bytes exceeds MaxRawStringBytes ({_limits.MaxRawStringBytes})");
        }

        var headerLength = (int)(peek.Consumed - _reader.Consumed);
        if (header.Length > Remaining - headerLength)
        {
            throw Truncated($"the extension declares {header.Length} bytes but only {Remaining - headerLength} remain");
        }

        _reader = peek;
        type = header.TypeCode;
        return _reader.ReadRaw(header.Length).FirstSpan;
    }

    /// <summary>
    /// Reads the specification's timestamp extension (type -1) in any of its three sizes. Validated here rather than
    /// by the library's <c>ReadDateTime</c>, which accepts nanoseconds past a second and throws
    /// <see cref="ArgumentOutOfRangeException"/> for seconds outside what <see cref="DateTime"/> holds.
    /// </summary>
    public DateTimeOffset ReadTimestamp()
    {
        var start = _reader;
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
                _reader = start;
                throw Error($"expected a timestamp (extension type -1 of 4, 8 or 12 bytes) but found extension type {type} of {data.Length} bytes");
        }

        const long MinSeconds = -62135596800; // 0001-01-01
        const long MaxSeconds = 253402300799; // 9999-12-31 23:59:59
        if (nanoseconds > 999_999_999)
        {
            _reader = start;
            throw Error($"timestamp has {nanoseconds} nanoseconds, out of the range 0 to 999999999");
        }

        if (seconds is < MinSeconds or > MaxSeconds)
        {
            _reader = start;
            throw Error($"timestamp of {seconds} seconds is out of the range DateTimeOffset can represent (years 1 to 9999)");
        }

        return DateTimeOffset.UnixEpoch.AddTicks((seconds * TimeSpan.TicksPerSecond) + (nanoseconds / 100));
    }

    /// <summary>
    /// Skips one value of any type within <see cref="IngestLimits.MaxDepth"/>. Not the library's <c>Skip</c>: that one
    /// follows any nesting and takes a negative count as "fewer values left", so it would pass over garbage. Here the
    /// number of values still to skip in each open container is kept in a small stack (on the call stack for the first
    /// levels, pooled beyond), so nesting costs no call-stack depth whatever the limit.
    /// </summary>
    public void Skip()
    {
        var start = _reader;
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
            _reader = start;
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

    /// <summary>Words an exception of the library that got past the guards, for a response that names the byte.</summary>
    public readonly string Describe(Exception libraryException) => libraryException is EndOfStreamException
        ? $"unexpected end of data (truncated input) at byte {_valueStart}"
        : $"not valid MessagePack ({libraryException.Message}) at byte {_valueStart}";

    private void SkipScalar(MessagePackType type)
    {
        var code = _data[Offset];
        switch (type)
        {
            case MessagePackType.String:
            case MessagePackType.Binary:
                CheckPayload(code, type == MessagePackType.String ? "string" : "binary value");
                break;
            case MessagePackType.Extension:
                ReadExtension(out _);
                return;
            default:
                Require(FixedLength(code));
                break;
        }

        _reader.Skip();
    }

    /// <summary>Checks the length a string or binary header declares, before anything of that size exists.</summary>
    private void CheckPayload(byte code, string kind)
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
                length = _data[Offset + 1];
                break;
            case MessagePackCode.Str16 or MessagePackCode.Bin16:
                headerLength = 3;
                Require(headerLength);
                length = BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(Offset + 1, 2));
                break;
            default: // Str32, Bin32
                headerLength = 5;
                Require(headerLength);
                length = BinaryPrimitives.ReadUInt32BigEndian(_data.Slice(Offset + 1, 4));
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
    }

    private void CheckCount(long count, int headerLength, int bytesPerEntry, string kind)
    {
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
    }

    /// <summary>The code of the next value; also where the next error, if any, will point.</summary>
    private byte PeekCode()
    {
        _valueStart = _reader.Consumed;
        if (_reader.End)
        {
            throw Truncated("a value was expected");
        }

        return _reader.NextCode;
    }

    private byte Expect(MessagePackType expected, string what)
    {
        var code = PeekCode();
        var found = MessagePackCode.ToMessagePackType(code);
        return found == expected ? code : throw Unexpected(what, code, found);
    }

    private void Require(int length)
    {
        if (length > Remaining)
        {
            throw Truncated($"the value needs {length} bytes but only {Remaining} remain");
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
