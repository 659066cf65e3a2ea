using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ErrorHub.Protocol.MessagePack;

/// <summary>
/// Limits that keep decoding of untrusted input bounded in time and memory. A declared length or
/// count is checked against these and against the bytes actually present before anything is
/// allocated, so a 10-byte body cannot make the reader reserve gigabytes.
/// </summary>
internal sealed record MessagePackReaderLimits
{
    public static readonly MessagePackReaderLimits Default = new();

    /// <summary>Deepest nesting of arrays and maps that <see cref="MessagePackReader.Skip()"/> accepts.</summary>
    public int MaxDepth { get; init; } = 32;

    public int MaxStringBytes { get; init; } = 1024 * 1024;

    public int MaxBinaryBytes { get; init; } = 1024 * 1024;

    /// <summary>Most entries one array or map may declare.</summary>
    public int MaxCollectionCount { get; init; } = 100_000;
}

/// <summary>Input that is not valid MessagePack, is truncated, has an unexpected type or breaks a limit.</summary>
internal sealed class MessagePackDecodeException(string message, long offset) : FormatException(message)
{
    /// <summary>Byte offset in the input where the problem was found.</summary>
    public long Offset { get; } = offset;
}

/// <summary>
/// Reads MessagePack from a span. Every method either consumes exactly one value (or header) or
/// throws <see cref="MessagePackDecodeException"/> without consuming anything.
/// </summary>
internal ref struct MessagePackReader
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly ReadOnlySpan<byte> _data;
    private readonly MessagePackReaderLimits _limits;
    private int _position;

    public MessagePackReader(ReadOnlySpan<byte> data, MessagePackReaderLimits? limits = null)
    {
        _data = data;
        _limits = limits ?? MessagePackReaderLimits.Default;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly bool End => _position >= _data.Length;

    public readonly MessagePackType PeekType()
    {
        var code = PeekCode();
        return code switch
        {
            <= MessagePackCode.MaxPositiveFixInt => MessagePackType.Integer,
            <= MessagePackCode.MaxFixMap => MessagePackType.Map,
            <= MessagePackCode.MaxFixArray => MessagePackType.Array,
            <= MessagePackCode.MaxFixStr => MessagePackType.String,
            MessagePackCode.Nil => MessagePackType.Nil,
            MessagePackCode.False or MessagePackCode.True => MessagePackType.Boolean,
            MessagePackCode.Bin8 or MessagePackCode.Bin16 or MessagePackCode.Bin32 => MessagePackType.Binary,
            MessagePackCode.Ext8 or MessagePackCode.Ext16 or MessagePackCode.Ext32 => MessagePackType.Extension,
            MessagePackCode.Float32 or MessagePackCode.Float64 => MessagePackType.Float,
            >= MessagePackCode.UInt8 and <= MessagePackCode.Int64 => MessagePackType.Integer,
            >= MessagePackCode.FixExt1 and <= MessagePackCode.FixExt16 => MessagePackType.Extension,
            >= MessagePackCode.Str8 and <= MessagePackCode.Str32 => MessagePackType.String,
            MessagePackCode.Array16 or MessagePackCode.Array32 => MessagePackType.Array,
            MessagePackCode.Map16 or MessagePackCode.Map32 => MessagePackType.Map,
            >= MessagePackCode.MinNegativeFixInt => MessagePackType.Integer,
            _ => throw Error($"byte 0x{code:x2} is not a valid MessagePack format", _position),
        };
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

    public void ReadNil()
    {
        if (!TryReadNil())
        {
            throw Unexpected("nil");
        }
    }

    public bool ReadBoolean()
    {
        var value = PeekCode() switch
        {
            MessagePackCode.True => true,
            MessagePackCode.False => false,
            _ => throw Unexpected("a boolean"),
        };
        _position++;
        return value;
    }

    public long ReadInt64()
    {
        var start = _position;
        var code = PeekCode();
        long value;
        int length;
        switch (code)
        {
            case <= MessagePackCode.MaxPositiveFixInt: value = code; length = 1; break;
            case >= MessagePackCode.MinNegativeFixInt: value = unchecked((sbyte)code); length = 1; break;
            case MessagePackCode.UInt8: value = Payload(1, 1)[0]; length = 2; break;
            case MessagePackCode.UInt16: value = BinaryPrimitives.ReadUInt16BigEndian(Payload(1, 2)); length = 3; break;
            case MessagePackCode.UInt32: value = BinaryPrimitives.ReadUInt32BigEndian(Payload(1, 4)); length = 5; break;
            case MessagePackCode.UInt64:
                var unsigned = BinaryPrimitives.ReadUInt64BigEndian(Payload(1, 8));
                if (unsigned > long.MaxValue)
                {
                    throw Error($"expected a signed 64-bit integer but found integer {unsigned}", start);
                }

                value = (long)unsigned;
                length = 9;
                break;
            case MessagePackCode.Int8: value = unchecked((sbyte)Payload(1, 1)[0]); length = 2; break;
            case MessagePackCode.Int16: value = BinaryPrimitives.ReadInt16BigEndian(Payload(1, 2)); length = 3; break;
            case MessagePackCode.Int32: value = BinaryPrimitives.ReadInt32BigEndian(Payload(1, 4)); length = 5; break;
            case MessagePackCode.Int64: value = BinaryPrimitives.ReadInt64BigEndian(Payload(1, 8)); length = 9; break;
            default: throw Unexpected("an integer");
        }

        _position += length;
        return value;
    }

    public ulong ReadUInt64()
    {
        if (PeekCode() == MessagePackCode.UInt64)
        {
            var value = BinaryPrimitives.ReadUInt64BigEndian(Payload(1, 8));
            _position += 9;
            return value;
        }

        var start = _position;
        var signed = ReadInt64();
        if (signed < 0)
        {
            _position = start;
            throw Error($"expected an unsigned integer but found negative integer {signed}", start);
        }

        return (ulong)signed;
    }

    public int ReadInt32()
    {
        var start = _position;
        var value = ReadInt64();
        if (value is < int.MinValue or > int.MaxValue)
        {
            _position = start;
            throw Error($"expected a 32-bit integer but found integer {value}", start);
        }

        return (int)value;
    }

    /// <summary>Reads a float of either width, or an integer, as a double.</summary>
    public double ReadDouble()
    {
        switch (PeekCode())
        {
            case MessagePackCode.Float32:
                var single = BinaryPrimitives.ReadSingleBigEndian(Payload(1, 4));
                _position += 5;
                return single;
            case MessagePackCode.Float64:
                var value = BinaryPrimitives.ReadDoubleBigEndian(Payload(1, 8));
                _position += 9;
                return value;
            case MessagePackCode.UInt64:
                // Above long.MaxValue ReadInt64 would refuse it; as a double it is fine.
                var unsigned = BinaryPrimitives.ReadUInt64BigEndian(Payload(1, 8));
                _position += 9;
                return unsigned;
            default:
                if (PeekType() != MessagePackType.Integer)
                {
                    throw Unexpected("a number");
                }

                return ReadInt64();
        }
    }

    /// <summary>Reads a string; invalid UTF-8 sequences become U+FFFD rather than failing the whole input.</summary>
    public string ReadString() => Utf8.GetString(ReadStringBytes());

    /// <summary>Reads a string, or null for nil.</summary>
    public string? ReadNullableString() => TryReadNil() ? null : ReadString();

    public ReadOnlySpan<byte> ReadStringBytes()
    {
        var code = PeekCode();
        int headerLength;
        long length;
        switch (code)
        {
            case >= MessagePackCode.MinFixStr and <= MessagePackCode.MaxFixStr: headerLength = 1; length = code & 0x1f; break;
            case MessagePackCode.Str8: headerLength = 2; length = Payload(1, 1)[0]; break;
            case MessagePackCode.Str16: headerLength = 3; length = BinaryPrimitives.ReadUInt16BigEndian(Payload(1, 2)); break;
            case MessagePackCode.Str32: headerLength = 5; length = BinaryPrimitives.ReadUInt32BigEndian(Payload(1, 4)); break;
            default: throw Unexpected("a string");
        }

        if (length > _limits.MaxStringBytes)
        {
            throw Error($"string of {length} bytes exceeds MaxStringBytes ({_limits.MaxStringBytes})", _position);
        }

        var bytes = Payload(headerLength, (int)length);
        _position += headerLength + (int)length;
        return bytes;
    }

    public ReadOnlySpan<byte> ReadBinary()
    {
        int headerLength;
        long length;
        switch (PeekCode())
        {
            case MessagePackCode.Bin8: headerLength = 2; length = Payload(1, 1)[0]; break;
            case MessagePackCode.Bin16: headerLength = 3; length = BinaryPrimitives.ReadUInt16BigEndian(Payload(1, 2)); break;
            case MessagePackCode.Bin32: headerLength = 5; length = BinaryPrimitives.ReadUInt32BigEndian(Payload(1, 4)); break;
            default: throw Unexpected("binary data");
        }

        if (length > _limits.MaxBinaryBytes)
        {
            throw Error($"binary value of {length} bytes exceeds MaxBinaryBytes ({_limits.MaxBinaryBytes})", _position);
        }

        var bytes = Payload(headerLength, (int)length);
        _position += headerLength + (int)length;
        return bytes;
    }

    /// <summary>Reads an array header: the caller then reads that many values.</summary>
    public int ReadArrayHeader()
    {
        var code = PeekCode();
        var (headerLength, count) = code switch
        {
            >= MessagePackCode.MinFixArray and <= MessagePackCode.MaxFixArray => (1, (long)(code & 0x0f)),
            MessagePackCode.Array16 => (3, BinaryPrimitives.ReadUInt16BigEndian(Payload(1, 2))),
            MessagePackCode.Array32 => (5, (long)BinaryPrimitives.ReadUInt32BigEndian(Payload(1, 4))),
            _ => throw Unexpected("an array"),
        };
        CheckCount(count, headerLength, bytesPerEntry: 1, "array");
        _position += headerLength;
        return (int)count;
    }

    /// <summary>Reads a map header: the caller then reads that many key/value pairs.</summary>
    public int ReadMapHeader()
    {
        var code = PeekCode();
        var (headerLength, count) = code switch
        {
            >= MessagePackCode.MinFixMap and <= MessagePackCode.MaxFixMap => (1, (long)(code & 0x0f)),
            MessagePackCode.Map16 => (3, BinaryPrimitives.ReadUInt16BigEndian(Payload(1, 2))),
            MessagePackCode.Map32 => (5, (long)BinaryPrimitives.ReadUInt32BigEndian(Payload(1, 4))),
            _ => throw Unexpected("a map"),
        };
        CheckCount(count, headerLength, bytesPerEntry: 2, "map");
        _position += headerLength;
        return (int)count;
    }

    /// <summary>Reads an extension value: its type code comes out in <paramref name="type"/>.</summary>
    public ReadOnlySpan<byte> ReadExtension(out sbyte type)
    {
        int headerLength;
        long length;
        switch (PeekCode())
        {
            case MessagePackCode.FixExt1: headerLength = 1; length = 1; break;
            case MessagePackCode.FixExt2: headerLength = 1; length = 2; break;
            case MessagePackCode.FixExt4: headerLength = 1; length = 4; break;
            case MessagePackCode.FixExt8: headerLength = 1; length = 8; break;
            case MessagePackCode.FixExt16: headerLength = 1; length = 16; break;
            case MessagePackCode.Ext8: headerLength = 2; length = Payload(1, 1)[0]; break;
            case MessagePackCode.Ext16: headerLength = 3; length = BinaryPrimitives.ReadUInt16BigEndian(Payload(1, 2)); break;
            case MessagePackCode.Ext32: headerLength = 5; length = BinaryPrimitives.ReadUInt32BigEndian(Payload(1, 4)); break;
            default: throw Unexpected("an extension");
        }

        if (length > _limits.MaxBinaryBytes)
        {
            throw Error($"extension of {length} bytes exceeds MaxBinaryBytes ({_limits.MaxBinaryBytes})", _position);
        }

        type = unchecked((sbyte)Payload(headerLength, 1)[0]);
        var data = Payload(headerLength + 1, (int)length);
        _position += headerLength + 1 + (int)length;
        return data;
    }

    /// <summary>Reads the specification's timestamp extension (type -1) in any of its three sizes.</summary>
    public DateTimeOffset ReadTimestamp()
    {
        if (PeekType() != MessagePackType.Extension)
        {
            throw Unexpected("a timestamp");
        }

        var start = _position;
        var data = ReadExtension(out var type);
        long seconds;
        uint nanoseconds;
        switch (type, data.Length)
        {
            case (MessagePackCode.TimestampExtensionType, 4):
                seconds = BinaryPrimitives.ReadUInt32BigEndian(data);
                nanoseconds = 0;
                break;
            case (MessagePackCode.TimestampExtensionType, 8):
                var packed = BinaryPrimitives.ReadUInt64BigEndian(data);
                nanoseconds = (uint)(packed >> 34);
                seconds = (long)(packed & 0x3_ffff_ffffUL);
                break;
            case (MessagePackCode.TimestampExtensionType, 12):
                nanoseconds = BinaryPrimitives.ReadUInt32BigEndian(data);
                seconds = BinaryPrimitives.ReadInt64BigEndian(data[4..]);
                break;
            default:
                _position = start;
                throw Error($"expected a timestamp (extension type -1 of 4, 8 or 12 bytes) but found extension type {type} of {data.Length} bytes", start);
        }

        const long MinSeconds = -62135596800; // 0001-01-01
        const long MaxSeconds = 253402300799; // 9999-12-31 23:59:59
        if (nanoseconds > 999_999_999)
        {
            _position = start;
            throw Error($"timestamp has {nanoseconds} nanoseconds, out of the range 0 to 999999999", start);
        }

        if (seconds is < MinSeconds or > MaxSeconds)
        {
            _position = start;
            throw Error($"timestamp of {seconds} seconds is out of the range DateTimeOffset can represent (years 1 to 9999)", start);
        }

        return DateTimeOffset.UnixEpoch.AddTicks((seconds * TimeSpan.TicksPerSecond) + (nanoseconds / 100));
    }

    /// <summary>Skips one value of any type, including nested containers, within the depth limit.</summary>
    public void Skip()
    {
        var start = _position;
        try
        {
            SkipValue();
        }
        catch (MessagePackDecodeException)
        {
            _position = start;
            throw;
        }
    }

    /// <summary>
    /// Skips without recursion: for each open container the number of values still to skip in it is kept in a
    /// small stack (on the call stack for the first levels, pooled beyond), so the nesting an input can reach
    /// costs no call-stack depth, whatever <see cref="MessagePackReaderLimits.MaxDepth"/> allows.
    /// </summary>
    private void SkipValue()
    {
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

                EnterContainer(depth);
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
        finally
        {
            if (rented is not null)
            {
                ArrayPool<long>.Shared.Return(rented);
            }
        }
    }

    private void SkipScalar(MessagePackType type)
    {
        switch (type)
        {
            case MessagePackType.Nil:
            case MessagePackType.Boolean:
                _position++;
                break;
            case MessagePackType.Integer when PeekCode() == MessagePackCode.UInt64:
                ReadUInt64();
                break;
            case MessagePackType.Integer:
                ReadInt64();
                break;
            case MessagePackType.Float:
                ReadDouble();
                break;
            case MessagePackType.String:
                ReadStringBytes();
                break;
            case MessagePackType.Binary:
                ReadBinary();
                break;
            default:
                ReadExtension(out _);
                break;
        }
    }

    private readonly void EnterContainer(int depth)
    {
        if (depth >= _limits.MaxDepth)
        {
            throw Error($"nesting exceeds MaxDepth ({_limits.MaxDepth})", _position);
        }
    }

    private readonly void CheckCount(long count, int headerLength, int bytesPerEntry, string kind)
    {
        if (count > _limits.MaxCollectionCount)
        {
            throw Error($"{kind} of {count} entries exceeds MaxCollectionCount ({_limits.MaxCollectionCount})", _position);
        }

        // Every entry takes at least one byte: a count the remaining input cannot hold is truncated input,
        // and rejecting it here keeps callers from sizing collections by an attacker's number.
        var remaining = _data.Length - _position - headerLength;
        if (count * bytesPerEntry > remaining)
        {
            throw Error($"{kind} declares {count} entries but only {remaining} bytes remain (truncated input)", _position);
        }
    }

    private readonly byte PeekCode()
    {
        if (_position >= _data.Length)
        {
            throw Error("unexpected end of data (truncated input): a value was expected", _position);
        }

        return _data[_position];
    }

    private readonly ReadOnlySpan<byte> Payload(int offset, int length)
    {
        if ((long)_position + offset + length > _data.Length)
        {
            throw Error($"unexpected end of data (truncated input): the value needs {(long)offset + length} bytes but only {_data.Length - _position} remain", _position);
        }

        return _data.Slice(_position + offset, length);
    }

    private readonly MessagePackDecodeException Unexpected(string expected)
    {
        var found = PeekType();
        return Error($"expected {expected} but found {Describe(found)} (0x{_data[_position]:x2})", _position);
    }

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

    private static MessagePackDecodeException Error(string message, long offset) => new($"{message} at byte {offset}", offset);
}
