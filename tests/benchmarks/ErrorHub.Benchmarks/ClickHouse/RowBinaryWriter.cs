using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ErrorHub.Benchmarks.ClickHouse;

/// <summary>
/// The store's RowBinary encoder before it used ClickHouse.Driver, unchanged (commit 874db13), kept
/// as the baseline of <see cref="ClickHouseInsertComparison"/>.
/// Encodes values in ClickHouse's RowBinary format: fixed-width integers little-endian, strings and
/// arrays prefixed by an unsigned LEB128 length, DateTime as UInt32 seconds, UUID as its two 64-bit
/// halves (high first), each little-endian. Values go in column order, row after row.
/// </summary>
internal sealed class RowBinaryWriter : IDisposable
{
    private byte[] _buffer;
    private int _written;
    private bool _disposed;

    public RowBinaryWriter(int initialCapacity = 64 * 1024)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);
    }

    public int WrittenCount => _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>Forgets what was written (after it was flushed), keeping the buffer.</summary>
    public void Clear() => _written = 0;

    public void WriteUInt8(byte value) => GetSpan(1)[0] = value;

    public void WriteBool(bool value) => WriteUInt8(value ? (byte)1 : (byte)0);

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(GetSpan(2), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(GetSpan(4), value);

    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(GetSpan(8), value);

    public void WriteInt8(sbyte value) => GetSpan(1)[0] = unchecked((byte)value);

    public void WriteInt16(short value) => BinaryPrimitives.WriteInt16LittleEndian(GetSpan(2), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32LittleEndian(GetSpan(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64LittleEndian(GetSpan(8), value);

    /// <summary>Unsigned LEB128: the length prefix of strings and arrays.</summary>
    public void WriteVarUInt(ulong value)
    {
        var span = GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        _written -= 10 - i;
    }

    public void WriteString(string? value)
    {
        value ??= "";
        var byteCount = Encoding.UTF8.GetByteCount(value);
        WriteVarUInt((ulong)byteCount);
        var written = Encoding.UTF8.GetBytes(value, GetSpan(byteCount));
        _written -= byteCount - written;
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteVarUInt((ulong)value.Length);
        value.CopyTo(GetSpan(value.Length));
    }

    /// <summary>DateTime: seconds since the epoch as UInt32; earlier times are stored as the epoch, later ones as the type's last second.</summary>
    public void WriteDateTime(DateTimeOffset value) =>
        WriteUInt32((uint)Math.Clamp(value.ToUnixTimeSeconds(), 0L, uint.MaxValue));

    public void WriteUuid(Guid value)
    {
        // Guid's big-endian bytes are the UUID's text order: 00112233-4455-6677-8899-aabbccddeeff.
        Span<byte> textOrder = stackalloc byte[16];
        value.TryWriteBytes(textOrder, bigEndian: true, out _);
        var span = GetSpan(16);
        BinaryPrimitives.WriteUInt64LittleEndian(span, BinaryPrimitives.ReadUInt64BigEndian(textOrder));
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], BinaryPrimitives.ReadUInt64BigEndian(textOrder[8..]));
    }

    /// <summary>Nullable(T): a 1 byte for null (and nothing else), or a 0 byte followed by the value.</summary>
    public bool WriteNullMarker<T>(T? value)
    {
        var isNull = value is null;
        WriteUInt8(isNull ? (byte)1 : (byte)0);
        return !isNull;
    }

    /// <summary>Array(T): the item count, then each item written by <paramref name="writeItem"/>.</summary>
    public void WriteArray<T>(IReadOnlyCollection<T> items, Action<RowBinaryWriter, T> writeItem)
    {
        WriteVarUInt((ulong)items.Count);
        foreach (var item in items)
        {
            writeItem(this, item);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _written = 0;
    }

    /// <summary>Reserves <paramref name="size"/> bytes and counts them as written.</summary>
    private Span<byte> GetSpan(int size)
    {
        if (_buffer.Length - _written < size)
        {
            Grow(size);
        }

        var span = _buffer.AsSpan(_written, size);
        _written += size;
        return span;
    }

    private void Grow(int size)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var needed = checked(_written + size);
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = next;
    }
}
