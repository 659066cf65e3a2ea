using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ErrorHub.Protocol.MessagePack;

/// <summary>
/// Writes MessagePack into an <see cref="IBufferWriter{T}"/>, always choosing the smallest encoding
/// the specification allows. Call <see cref="Flush"/> when done: bytes are committed to the output in
/// chunks, not per value, so that writing a value costs a bounds check rather than an interface call.
/// Pass the writer to helpers by <c>ref</c>: a copy would write into the same buffer without the original
/// knowing, and the original would then overwrite those bytes.
/// </summary>
internal ref struct MessagePackWriter
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly IBufferWriter<byte> _output;
    private Span<byte> _span;
    private int _buffered;

    public MessagePackWriter(IBufferWriter<byte> output)
    {
        _output = output;
        _span = default;
        _buffered = 0;
    }

    /// <summary>Commits everything written so far to the output.</summary>
    public void Flush()
    {
        if (_buffered > 0)
        {
            _output.Advance(_buffered);
            _buffered = 0;
            _span = default;
        }
    }

    public void WriteNil() => Reserve(1)[0] = MessagePackCode.Nil;

    public void Write(bool value) => Reserve(1)[0] = value ? MessagePackCode.True : MessagePackCode.False;

    public void Write(int value) => Write((long)value);

    public void Write(long value)
    {
        if (value >= 0)
        {
            Write((ulong)value);
        }
        else if (value >= -32)
        {
            Reserve(1)[0] = unchecked((byte)value);
        }
        else if (value >= sbyte.MinValue)
        {
            var span = Reserve(2);
            span[0] = MessagePackCode.Int8;
            span[1] = unchecked((byte)value);
        }
        else if (value >= short.MinValue)
        {
            var span = Reserve(3);
            span[0] = MessagePackCode.Int16;
            BinaryPrimitives.WriteInt16BigEndian(span[1..], (short)value);
        }
        else if (value >= int.MinValue)
        {
            var span = Reserve(5);
            span[0] = MessagePackCode.Int32;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], (int)value);
        }
        else
        {
            var span = Reserve(9);
            span[0] = MessagePackCode.Int64;
            BinaryPrimitives.WriteInt64BigEndian(span[1..], value);
        }
    }

    public void Write(ulong value)
    {
        if (value <= MessagePackCode.MaxPositiveFixInt)
        {
            Reserve(1)[0] = (byte)value;
        }
        else if (value <= byte.MaxValue)
        {
            var span = Reserve(2);
            span[0] = MessagePackCode.UInt8;
            span[1] = (byte)value;
        }
        else if (value <= ushort.MaxValue)
        {
            var span = Reserve(3);
            span[0] = MessagePackCode.UInt16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)value);
        }
        else if (value <= uint.MaxValue)
        {
            var span = Reserve(5);
            span[0] = MessagePackCode.UInt32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)value);
        }
        else
        {
            var span = Reserve(9);
            span[0] = MessagePackCode.UInt64;
            BinaryPrimitives.WriteUInt64BigEndian(span[1..], value);
        }
    }

    public void Write(float value)
    {
        var span = Reserve(5);
        span[0] = MessagePackCode.Float32;
        BinaryPrimitives.WriteSingleBigEndian(span[1..], value);
    }

    public void Write(double value)
    {
        var span = Reserve(9);
        span[0] = MessagePackCode.Float64;
        BinaryPrimitives.WriteDoubleBigEndian(span[1..], value);
    }

    /// <summary>Writes a string as UTF-8 (unpaired surrogates become U+FFFD), or nil for null.</summary>
    public void Write(string? value)
    {
        if (value is null)
        {
            WriteNil();
            return;
        }

        Write(value.AsSpan());
    }

    public void Write(scoped ReadOnlySpan<char> value)
    {
        var byteCount = Utf8.GetByteCount(value);
        var span = Reserve(5 + byteCount);
        var headerLength = WriteStringHeader(span, byteCount);
        var written = Utf8.GetBytes(value, span[headerLength..]);
        _buffered -= span.Length - headerLength - written;
    }

    /// <summary>Writes bytes that already are UTF-8 as a string.</summary>
    public void WriteUtf8String(scoped ReadOnlySpan<byte> utf8)
    {
        var span = Reserve(5 + utf8.Length);
        var headerLength = WriteStringHeader(span, utf8.Length);
        utf8.CopyTo(span[headerLength..]);
        _buffered -= span.Length - headerLength - utf8.Length;
    }

    public void WriteBinary(scoped ReadOnlySpan<byte> value)
    {
        var span = Reserve(5 + value.Length);
        int headerLength;
        if (value.Length <= byte.MaxValue)
        {
            span[0] = MessagePackCode.Bin8;
            span[1] = (byte)value.Length;
            headerLength = 2;
        }
        else if (value.Length <= ushort.MaxValue)
        {
            span[0] = MessagePackCode.Bin16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)value.Length);
            headerLength = 3;
        }
        else
        {
            span[0] = MessagePackCode.Bin32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)value.Length);
            headerLength = 5;
        }

        value.CopyTo(span[headerLength..]);
        _buffered -= span.Length - headerLength - value.Length;
    }

    public void WriteArrayHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteContainerHeader(count, MessagePackCode.MinFixArray, MessagePackCode.Array16, MessagePackCode.Array32);
    }

    public void WriteMapHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteContainerHeader(count, MessagePackCode.MinFixMap, MessagePackCode.Map16, MessagePackCode.Map32);
    }

    public void WriteExtension(sbyte type, scoped ReadOnlySpan<byte> data)
    {
        var span = Reserve(6 + data.Length);
        int headerLength;
        switch (data.Length)
        {
            case 1: span[0] = MessagePackCode.FixExt1; headerLength = 1; break;
            case 2: span[0] = MessagePackCode.FixExt2; headerLength = 1; break;
            case 4: span[0] = MessagePackCode.FixExt4; headerLength = 1; break;
            case 8: span[0] = MessagePackCode.FixExt8; headerLength = 1; break;
            case 16: span[0] = MessagePackCode.FixExt16; headerLength = 1; break;
            default:
                if (data.Length <= byte.MaxValue)
                {
                    span[0] = MessagePackCode.Ext8;
                    span[1] = (byte)data.Length;
                    headerLength = 2;
                }
                else if (data.Length <= ushort.MaxValue)
                {
                    span[0] = MessagePackCode.Ext16;
                    BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)data.Length);
                    headerLength = 3;
                }
                else
                {
                    span[0] = MessagePackCode.Ext32;
                    BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)data.Length);
                    headerLength = 5;
                }

                break;
        }

        span[headerLength] = unchecked((byte)type);
        data.CopyTo(span[(headerLength + 1)..]);
        _buffered -= span.Length - headerLength - 1 - data.Length;
    }

    /// <summary>Writes the specification's timestamp extension (type -1) in its smallest form.</summary>
    public void WriteTimestamp(DateTimeOffset value)
    {
        var ticksSinceEpoch = value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = Math.DivRem(ticksSinceEpoch, TimeSpan.TicksPerSecond, out var remainderTicks);
        if (remainderTicks < 0)
        {
            seconds--;
            remainderTicks += TimeSpan.TicksPerSecond;
        }

        var nanoseconds = (uint)(remainderTicks * 100);
        Span<byte> data = stackalloc byte[12];
        if (seconds >= 0 && seconds >> 34 == 0)
        {
            var packed = ((ulong)nanoseconds << 34) | (ulong)seconds;
            if ((packed & 0xffffffff00000000UL) == 0)
            {
                BinaryPrimitives.WriteUInt32BigEndian(data, (uint)packed);
                WriteExtension(MessagePackCode.TimestampExtensionType, data[..4]);
            }
            else
            {
                BinaryPrimitives.WriteUInt64BigEndian(data, packed);
                WriteExtension(MessagePackCode.TimestampExtensionType, data[..8]);
            }
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(data, nanoseconds);
            BinaryPrimitives.WriteInt64BigEndian(data[4..], seconds);
            WriteExtension(MessagePackCode.TimestampExtensionType, data);
        }
    }

    private void WriteContainerHeader(int count, byte fixBase, byte code16, byte code32)
    {
        if (count <= 15)
        {
            Reserve(1)[0] = (byte)(fixBase | count);
        }
        else if (count <= ushort.MaxValue)
        {
            var span = Reserve(3);
            span[0] = code16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)count);
        }
        else
        {
            var span = Reserve(5);
            span[0] = code32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)count);
        }
    }

    private static int WriteStringHeader(Span<byte> span, int byteCount)
    {
        if (byteCount <= 31)
        {
            span[0] = (byte)(MessagePackCode.MinFixStr | byteCount);
            return 1;
        }

        if (byteCount <= byte.MaxValue)
        {
            span[0] = MessagePackCode.Str8;
            span[1] = (byte)byteCount;
            return 2;
        }

        if (byteCount <= ushort.MaxValue)
        {
            span[0] = MessagePackCode.Str16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)byteCount);
            return 3;
        }

        span[0] = MessagePackCode.Str32;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)byteCount);
        return 5;
    }

    /// <summary>
    /// Returns exactly <paramref name="length"/> writable bytes and counts them as written; writers that
    /// reserve an upper bound give back what they did not use by lowering <see cref="_buffered"/>.
    /// </summary>
    private Span<byte> Reserve(int length)
    {
        if (_span.Length - _buffered < length)
        {
            Flush();
            _span = _output.GetSpan(Math.Max(length, 256));
        }

        var result = _span.Slice(_buffered, length);
        _buffered += length;
        return result;
    }
}
