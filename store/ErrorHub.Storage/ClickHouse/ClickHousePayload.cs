using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using ErrorHub.Storage.Events;
using K4os.Compression.LZ4;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// The <c>payload</c> column of the ClickHouse store: the event's JSON (<see cref="EventPayloadJson"/>) compressed by
/// ingest, because ClickHouse 18.16's cost of writing and merging a row follows its uncompressed bytes and the JSON is
/// most of them (docs/storage.md, "The payload column"). Self-describing, so that rows of earlier releases, plain JSON,
/// still read:
/// <list type="bullet">
/// <item><c>0x01</c>, the JSON's length (UInt32, little-endian), an LZ4 block of the JSON;</item>
/// <item>anything else is plain JSON (it starts with <c>{</c>; a JSON text never starts with a byte below 0x09).</item>
/// </list>
/// An event whose JSON LZ4 does not make smaller is stored as plain JSON.
/// </summary>
internal static class ClickHousePayload
{
    public const byte Lz4Marker = 0x01;
    private const int HeaderLength = 5;

    // LZ4 cannot make more than 255 bytes of a byte of block: a length above that is a damaged header, not a big event.
    private const int Lz4MaxRatio = 255;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_json;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;
    [ThreadStatic] private static byte[]? t_compressed;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_chainJson;
    [ThreadStatic] private static Utf8JsonWriter? t_chainWriter;

    /// <summary>The column's bytes for one event.</summary>
    public static byte[] Encode(ErrorEvent errorEvent)
    {
        try
        {
            return EncodeInScratch(errorEvent).ToArray();
        }
        finally
        {
            TrimScratch();
        }
    }

    /// <summary>
    /// The column as a RowBinary <c>String</c> (its length, then its bytes), appended to an encoded row; with
    /// <paramref name="exceptionsJson"/> (<see cref="SerializeChain"/> of a chain equal to the event's) copied in place of
    /// serializing the event's chain again: the same bytes.
    /// </summary>
    public static void Write(ArrayBufferWriter<byte> row, ErrorEvent errorEvent, byte[]? exceptionsJson = null)
    {
        try
        {
            var column = EncodeInScratch(errorEvent, exceptionsJson);
            ClickHouseEventEncoding.WriteLength(row, column.Length);
            column.CopyTo(row.GetSpan(column.Length));
            row.Advance(column.Length);
        }
        finally
        {
            TrimScratch();
        }
    }

    /// <summary>The column's bytes in this thread's buffers, valid until its next call.</summary>
    private static ReadOnlySpan<byte> EncodeInScratch(ErrorEvent errorEvent, byte[]? exceptionsJson = null)
    {
        // One buffer and writer per thread: rows are encoded one at a time on the preparing or inserting thread, and
        // a batch of events should not make a JSON array per event only to compress it.
        var json = t_json ??= new ArrayBufferWriter<byte>(16 * 1024);
        json.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(json);
        writer.Reset(json);
        if (exceptionsJson is null)
        {
            EventPayloadJson.Serialize(writer, errorEvent);
        }
        else
        {
            EventPayloadJson.Serialize(writer, errorEvent, exceptionsJson);
        }

        writer.Flush();
        var source = json.WrittenSpan;

        var needed = HeaderLength + LZ4Codec.MaximumOutputSize(source.Length);
        var compressedBuffer = t_compressed is { } existing && existing.Length >= needed ? existing : t_compressed = new byte[Math.Max(needed, 16 * 1024)];
        var compressed = LZ4Codec.Encode(source, compressedBuffer.AsSpan(HeaderLength), LZ4Level.L00_FAST);
        if (compressed <= 0 || HeaderLength + compressed >= source.Length)
        {
            return source;
        }

        compressedBuffer[0] = Lz4Marker;
        BinaryPrimitives.WriteUInt32LittleEndian(compressedBuffer.AsSpan(1), (uint)source.Length);
        return compressedBuffer.AsSpan(0, HeaderLength + compressed);
    }

    /// <summary>The JSON of an exception chain as the payload holds it (its <c>exceptions</c> property's value), to copy into equal chains' payloads.</summary>
    public static byte[] SerializeChain(IReadOnlyList<ExceptionRecord> exceptions)
    {
        var json = t_chainJson ??= new ArrayBufferWriter<byte>(4 * 1024);
        json.ResetWrittenCount();
        var writer = t_chainWriter ??= new Utf8JsonWriter(json);
        writer.Reset(json);
        EventPayloadJson.SerializeExceptions(writer, exceptions);
        writer.Flush();
        var bytes = json.WrittenSpan.ToArray();
        if (json.Capacity > 1024 * 1024)
        {
            t_chainJson = null;
            t_chainWriter = null;
        }

        return bytes;
    }

    private static void TrimScratch()
    {
        if (t_json is { Capacity: > 1024 * 1024 } || t_compressed is { Length: > 1024 * 1024 })
        {
            // One huge event should not keep a megabyte per encoding thread for the life of the process.
            t_json = null;
            t_writer = null;
            t_compressed = null;
        }
    }

    /// <summary>The event stored as <paramref name="stored"/>; throws <see cref="InvalidDataException"/> (or <see cref="JsonException"/>) for bytes no release wrote.</summary>
    public static ErrorEvent Decode(ReadOnlySpan<byte> stored)
    {
        if (stored.IsEmpty)
        {
            throw new InvalidDataException("The stored payload is empty.");
        }

        if (stored[0] != Lz4Marker)
        {
            return EventPayloadJson.Deserialize(stored);
        }

        if (stored.Length < HeaderLength)
        {
            throw new InvalidDataException($"The stored LZ4 payload is {stored.Length} bytes, shorter than its header.");
        }

        var block = stored[HeaderLength..];
        var length = BinaryPrimitives.ReadUInt32LittleEndian(stored[1..]);
        if (length == 0 || length > (ulong)block.Length * Lz4MaxRatio || length > (uint)Array.MaxLength)
        {
            throw new InvalidDataException($"The stored LZ4 payload claims {length} bytes of JSON from a block of {block.Length}.");
        }

        var json = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            var decoded = LZ4Codec.Decode(block, json.AsSpan(0, (int)length));
            if (decoded != length)
            {
                throw new InvalidDataException($"The stored LZ4 payload is damaged: its block of {block.Length} bytes decodes to {(decoded < 0 ? "nothing" : decoded.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes")}, not the {length} its header claims.");
            }

            return EventPayloadJson.Deserialize(json.AsSpan(0, (int)length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(json);
        }
    }

    private const string HexAlias = "payload_hex";

    /// <summary>
    /// What a SELECT of events reads: the payload as hex, because its bytes are not text and a JSONEachRow answer
    /// carries a String's bytes as they are, which no JSON reader takes back whole (18.16 has no base64Encode);
    /// the event's id to name it when its payload cannot be read.
    /// </summary>
    public const string Columns = $"event_id, hex(payload) AS {HexAlias}";

    /// <summary>
    /// The event of a row that selected <see cref="Columns"/>; null, logged, for bytes no release wrote (a damaged
    /// payload), so that one such event leaves the page that shows it readable.
    /// </summary>
    public static ErrorEvent? Read(JsonElement row, int projectId, ILogger logger)
    {
        try
        {
            return Decode(Convert.FromHexString(row.GetProperty(HexAlias).GetString() ?? ""));
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or FormatException)
        {
            StoreLog.UnreadablePayload(logger, row.GetProperty("event_id").GetString() ?? "", projectId, e.Message);
            return null;
        }
    }
}
