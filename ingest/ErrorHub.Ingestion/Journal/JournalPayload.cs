using System.Buffers.Binary;

namespace ErrorHub.Ingestion.Journal;

/// <summary>
/// A batch as the journal keeps it: what <see cref="BatchPreparer"/> needs to give the same events again — the project,
/// the server's received-at time, the id the server gave the batch (from which events sent without an id get theirs, so a
/// replay gives them the same ids and the store's duplicate check counts them once) and the body exactly as sent (still
/// gzip'd when it came so).
/// Encoded: version (1 byte: 2), flags (1 byte: 1 = gzip), project id (int32), received-at UTC ticks (int64), batch id
/// (16 bytes), body. Version 1, written before batch ids, has no batch id: its id-less events get random ids, as then.
/// </summary>
internal sealed class JournalPayload
{
    private const byte Version1 = 1;
    private const byte Version = 2;
    private const byte GzipFlag = 1;
    private const int Version1HeaderLength = 1 + 1 + 4 + 8;
    private const int HeaderLength = Version1HeaderLength + 16;

    private JournalPayload(byte[] bytes) => Bytes = bytes;

    /// <summary>The encoded payload, as written after the record's header.</summary>
    public byte[] Bytes { get; }

    public static JournalPayload Create(int projectId, DateTimeOffset receivedAt, bool gzip, ReadOnlySpan<byte> body)
    {
        var bytes = new byte[HeaderLength + body.Length];
        bytes[0] = Version;
        bytes[1] = gzip ? GzipFlag : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2), projectId);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(6), receivedAt.UtcTicks);
        Guid.NewGuid().TryWriteBytes(bytes.AsSpan(Version1HeaderLength, 16));
        body.CopyTo(bytes.AsSpan(HeaderLength));
        return new JournalPayload(bytes);
    }

    /// <summary>Reads a payload back; throws <see cref="InvalidDataException"/> when it is not one this version wrote.</summary>
    public static (int ProjectId, DateTimeOffset ReceivedAt, Guid BatchId, bool Gzip, ReadOnlyMemory<byte> Body) Read(ReadOnlyMemory<byte> payload)
    {
        var span = payload.Span;
        var headerLength = span.Length > 0 && span[0] == Version1 ? Version1HeaderLength : HeaderLength;
        if (span.Length < headerLength || (span[0] != Version && span[0] != Version1) || (span[1] & ~GzipFlag) != 0)
        {
            throw new InvalidDataException("not a journal payload of version 1 or 2");
        }

        var ticks = BinaryPrimitives.ReadInt64LittleEndian(span[6..]);
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            throw new InvalidDataException("the received-at time is out of range");
        }

        var batchId = headerLength == HeaderLength ? new Guid(span.Slice(Version1HeaderLength, 16)) : Guid.Empty;
        return (BinaryPrimitives.ReadInt32LittleEndian(span[2..]), new DateTimeOffset(ticks, TimeSpan.Zero), batchId, (span[1] & GzipFlag) != 0, payload[headerLength..]);
    }
}
