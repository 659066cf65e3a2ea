using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// An event as one row of the events table in ClickHouse's RowBinary format, the columns of <see cref="Columns"/> in that
/// order (the same columns and values as <see cref="ClickHouseEventRow"/>, which the driver encodes): fixed-width numbers
/// little-endian, a UUID as its two 64-bit halves each little-endian, strings and arrays as a LEB128 length followed by
/// their bytes or elements. Written by ErrorHub rather than the driver so that a row can be encoded as soon as its event is
/// prepared and kept as bytes until its insert (<see cref="ClickHouseEventBatch"/>); the driver encodes objects only when it sends them.
/// </summary>
internal static class ClickHouseEventEncoding
{
    /// <summary>The <c>frames</c> Nested's columns, written empty.</summary>
    private const int FrameColumnCount = 8;

    public const string Columns =
        "project_id, timestamp, received_at, event_id, fingerprint, grouping_version, level, title, culprit, message, logger, platform, " +
        "release, environment, server_name, exceptions.type, exceptions.value, exceptions.module, frames.exception_index, frames.function, " +
        "frames.type, frames.module, frames.file, frames.line_number, frames.column_number, frames.in_app, user_id, user_email, user_username, " +
        "user_ip, user_hash, http_method, url, tags.key, tags.value, payload, grouping";

    /// <summary>
    /// Appends the event's row to <paramref name="row"/>; with <paramref name="chains"/>, an exception chain equal to one
    /// already encoded copies that one's bytes (the same bytes as encoding it again). Returns the bytes of the row's last
    /// column, <c>grouping</c> (its length and text), which an insert may send empty (<see cref="ClickHouseEventBatch"/>).
    /// </summary>
    public static int Write(ArrayBufferWriter<byte> row, ErrorEvent e, ClickHouseChainCache? chains = null)
    {
        WriteUInt32(row, checked((uint)e.ProjectId));
        WriteDateTime(row, e.Timestamp);
        WriteDateTime(row, e.ReceivedAt);
        WriteUuid(row, e.EventId);
        WriteString(row, e.Fingerprint);
        BinaryPrimitives.WriteUInt16LittleEndian(row.GetSpan(2), (ushort)Math.Clamp(e.GroupingVersion, 0, ushort.MaxValue));
        row.Advance(2);
        WriteString(row, e.Level);
        WriteString(row, e.Title);
        WriteString(row, e.Culprit);
        WriteString(row, e.Message);
        WriteString(row, e.Logger);
        WriteString(row, e.Platform);
        WriteString(row, e.Release);
        WriteString(row, e.Environment);
        WriteString(row, e.ServerName);

        chains = e.Exceptions.Count > 0 ? chains : null;
        var cached = chains?.Find(e.Exceptions);
        var chainStart = row.WrittenCount;
        if (cached is not null)
        {
            cached.Columns.CopyTo(row.GetSpan(cached.Columns.Length));
            row.Advance(cached.Columns.Length);
        }
        else
        {
            WriteChain(row, e.Exceptions);
        }

        var chainEnd = row.WrittenCount;
        WriteEmptyFrames(row);

        WriteString(row, e.User?.Id);
        WriteString(row, e.User?.Email);
        WriteString(row, e.User?.Username);
        WriteString(row, e.User?.IpAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(row.GetSpan(8), UserHash.Of(e.User?.Key));
        row.Advance(8);
        WriteString(row, e.Request?.Method);
        WriteString(row, e.Request?.Url);

        // Keys and values in the dictionary's one order of enumeration.
        WriteStrings(row, e.Tags, static tag => tag.Key);
        WriteStrings(row, e.Tags, static tag => tag.Value);

        if (chains is null || cached is not null)
        {
            ClickHousePayload.Write(row, e, cached?.Json);
        }
        else
        {
            // The chain's JSON is made apart (the same bytes the serializer writes in place) so that the next equal chain copies it.
            var json = ClickHousePayload.SerializeChain(e.Exceptions);
            chains.Keep(e.Exceptions, row.WrittenSpan[chainStart..chainEnd], json);
            ClickHousePayload.Write(row, e, json);
        }

        var groupingStart = row.WrittenCount;
        WriteString(row, EventPayloadJson.SerializeGrouping(e));
        return row.WrittenCount - groupingStart;
    }

    /// <summary>The columns that hold only the exception chain, <c>exceptions.type</c> to <c>exceptions.module</c>.</summary>
    private static void WriteChain(ArrayBufferWriter<byte> row, IReadOnlyList<ExceptionRecord> exceptions)
    {
        WriteStrings(row, exceptions, static x => x.Type);
        WriteStrings(row, exceptions, static x => x.Value);
        WriteStrings(row, exceptions, static x => x.Module);
    }

    /// <summary>
    /// <c>frames.exception_index</c> to <c>frames.in_app</c>, each an empty array (a zero length): the columns stay in the
    /// schema and the insert for older stores and clusters, but nothing reads them and the payload holds every frame.
    /// </summary>
    private static void WriteEmptyFrames(ArrayBufferWriter<byte> row)
    {
        row.GetSpan(FrameColumnCount)[..FrameColumnCount].Clear();
        row.Advance(FrameColumnCount);
    }

    /// <summary>A <c>String</c>: its UTF-8 length, then its bytes; null is the empty string (as in the driver's rows).</summary>
    public static void WriteString(ArrayBufferWriter<byte> row, string? value)
    {
        value ??= "";
        var length = Encoding.UTF8.GetByteCount(value);
        WriteLength(row, length);
        var written = Encoding.UTF8.GetBytes(value, row.GetSpan(length));
        row.Advance(written);
    }

    /// <summary>A length as RowBinary writes it: unsigned LEB128, seven bits a byte, low bits first.</summary>
    public static void WriteLength(ArrayBufferWriter<byte> row, long length)
    {
        var span = row.GetSpan(10);
        var value = (ulong)length;
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        row.Advance(i);
    }

    private static void WriteUInt32(ArrayBufferWriter<byte> row, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(row.GetSpan(4), value);
        row.Advance(4);
    }

    private static void WriteDateTime(ArrayBufferWriter<byte> row, DateTimeOffset value) =>
        WriteUInt32(row, (uint)ClickHouseEventRow.ClampToDateTime(value).ToUnixTimeSeconds());

    /// <summary>ClickHouse keeps a UUID as two 64-bit numbers, the text's first and second halves, each written little-endian.</summary>
    private static void WriteUuid(ArrayBufferWriter<byte> row, Guid value)
    {
        Span<byte> text = stackalloc byte[16];
        value.TryWriteBytes(text, bigEndian: true, out _);
        var span = row.GetSpan(16);
        BinaryPrimitives.WriteUInt64LittleEndian(span, BinaryPrimitives.ReadUInt64BigEndian(text));
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], BinaryPrimitives.ReadUInt64BigEndian(text[8..]));
        row.Advance(16);
    }

    /// <summary>An <c>Array(String)</c> of one value of each item.</summary>
    private static void WriteStrings<T>(ArrayBufferWriter<byte> row, IReadOnlyCollection<T> items, Func<T, string?> select)
    {
        WriteLength(row, items.Count);
        foreach (var item in items)
        {
            WriteString(row, select(item));
        }
    }
}
