using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace ErrorHub.Ingestion.Journal;

/// <summary>Where a record the store may not have yet lies on disk, found by the start-up scan.</summary>
internal readonly record struct JournalRecordLocation(long Sequence, string SegmentPath, long Offset, int PayloadLength);

/// <summary>What the start-up scan found: records to replay, and what it skipped or cut.</summary>
internal sealed record JournalScan(IReadOnlyList<JournalRecordLocation> Backlog, int CorruptRegions, long CorruptBytes, long TornBytesTruncated);

/// <summary>
/// The journal's files in one directory, owned by one process (an exclusive lock on <c>journal.lock</c>): segment files
/// of records (<c>{first sequence}.seg</c>) and a <c>checkpoint</c> naming the last record the store has. A record is a
/// 20-byte header — magic, payload length, sequence number, CRC-32 of the sequence and payload — and its payload.
/// Appends are written and fsynced together (<see cref="Append"/>, one thread); a record is acknowledged only after.
/// </summary>
internal sealed class JournalFiles : IDisposable
{
    internal const string LockFileName = "journal.lock";
    internal const string CheckpointFileName = "checkpoint";
    internal const string SegmentExtension = ".seg";
    internal const int HeaderLength = 20;
    private const uint Magic = 0x314A_4845; // "EHJ1" little-endian
    private const int MaxPayloadLength = 512 * 1024 * 1024;

    private readonly string _directory;
    private readonly long _segmentBytes;
    private readonly FileStream _lockFile;
    private readonly Lock _segmentsLock = new();
    private readonly List<Segment> _segments = [];
    private Segment? _current;
    private FileStream? _currentStream;
    private long _nextSequence;
    private long _checkpoint;
    private long _bytes;

    private JournalFiles(string directory, long segmentBytes, FileStream lockFile)
    {
        _directory = directory;
        _segmentBytes = segmentBytes;
        _lockFile = lockFile;
    }

    /// <summary>Bytes of the segment files on disk.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The sequence number of the last record the store has (0: none yet).</summary>
    public long Checkpoint => Interlocked.Read(ref _checkpoint);

    /// <summary>The sequence number of the last record appended (0: none yet).</summary>
    public long LastSequence => Interlocked.Read(ref _nextSequence) - 1;

    /// <summary>Number of segment files on disk.</summary>
    public int SegmentCount
    {
        get
        {
            lock (_segmentsLock)
            {
                return _segments.Count;
            }
        }
    }

    /// <summary>
    /// Takes the directory (throws <see cref="JournalLockedException"/> when another process holds it), scans every
    /// segment: records after the checkpoint are the backlog; a torn end of a segment (a record never fsynced, so never
    /// acknowledged) is cut off; a damaged record followed by valid ones is skipped and counted. Deletes segments the
    /// store already has. Never throws for what it finds in the files.
    /// </summary>
    public static JournalFiles Open(string directory, long segmentBytes, out JournalScan scan)
    {
        Directory.CreateDirectory(directory);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception)
        {
            throw new JournalLockedException(directory, exception);
        }

        var files = new JournalFiles(directory, segmentBytes, lockFile);
        try
        {
            scan = files.Scan();
            return files;
        }
        catch
        {
            files.Dispose();
            throw;
        }
    }

    private JournalScan Scan()
    {
        _checkpoint = ReadCheckpoint();
        var backlog = new List<JournalRecordLocation>();
        var corruptRegions = 0;
        long corruptBytes = 0, tornBytes = 0, lastSequence = _checkpoint;
        foreach (var path in Directory.GetFiles(_directory, "*" + SegmentExtension).Order(StringComparer.Ordinal))
        {
            if (!long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue; // not ours
            }

            var bytes = File.ReadAllBytes(path);
            var segment = new Segment(path) { Bytes = bytes.Length };
            var position = 0;
            while (position < bytes.Length)
            {
                if (TryReadRecord(bytes, position, out var sequence, out var payloadLength))
                {
                    segment.LastSequence = Math.Max(segment.LastSequence, sequence);
                    lastSequence = Math.Max(lastSequence, sequence);
                    if (sequence > _checkpoint)
                    {
                        backlog.Add(new JournalRecordLocation(sequence, path, position + HeaderLength, payloadLength));
                    }

                    position += HeaderLength + payloadLength;
                    continue;
                }

                var next = NextValidRecord(bytes, position + 1);
                if (next < 0)
                {
                    // The end was never fsynced whole, so never acknowledged: cut it off.
                    tornBytes += bytes.Length - position;
                    using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read))
                    {
                        stream.SetLength(position);
                        stream.Flush(flushToDisk: true);
                    }

                    segment.Bytes = position;
                    break;
                }

                // Damage inside what was acknowledged (the disk, or someone, changed it): skip it, keep what follows.
                corruptRegions++;
                corruptBytes += next - position;
                position = next;
            }

            if (segment.LastSequence <= _checkpoint)
            {
                File.Delete(path); // the store has all of it (or it is empty)
                continue;
            }

            _segments.Add(segment);
            _bytes += segment.Bytes;
        }

        backlog.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        _nextSequence = lastSequence + 1;
        return new JournalScan(backlog, corruptRegions, corruptBytes, tornBytes);
    }

    private static bool TryReadRecord(byte[] bytes, int position, out long sequence, out int payloadLength)
    {
        sequence = 0;
        payloadLength = 0;
        if (bytes.Length - position < HeaderLength)
        {
            return false;
        }

        var header = bytes.AsSpan(position, HeaderLength);
        payloadLength = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic || payloadLength < 0 || payloadLength > bytes.Length - position - HeaderLength)
        {
            return false;
        }

        sequence = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        var crc = new Crc32();
        crc.Append(header.Slice(8, 8));
        crc.Append(bytes.AsSpan(position + HeaderLength, payloadLength));
        return sequence > 0 && crc.GetCurrentHashAsUInt32() == BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
    }

    private static int NextValidRecord(byte[] bytes, int from)
    {
        Span<byte> magic = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, Magic);
        var position = from;
        while (position < bytes.Length)
        {
            var found = bytes.AsSpan(position).IndexOf(magic);
            if (found < 0)
            {
                return -1;
            }

            position += found;
            if (TryReadRecord(bytes, position, out _, out _))
            {
                return position;
            }

            position++;
        }

        return -1;
    }

    /// <summary>Reads a record's payload found by the scan.</summary>
    public static byte[] ReadPayload(JournalRecordLocation location)
    {
        using var stream = new FileStream(location.SegmentPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        stream.Position = location.Offset;
        var payload = new byte[location.PayloadLength];
        stream.ReadExactly(payload);
        return payload;
    }

    /// <summary>
    /// Appends the payloads as records, in order, with one write and one fsync; returns the first one's sequence number
    /// (the others follow it). On failure nothing of them counts: the segment is cut back to where it was, and it throws.
    /// One caller at a time.
    /// </summary>
    public long Append(IReadOnlyList<byte[]> payloads)
    {
        if (_currentStream is null || _current!.Bytes >= _segmentBytes)
        {
            StartSegment();
        }

        var length = payloads.Sum(p => HeaderLength + p.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var first = _nextSequence;
        try
        {
            var position = 0;
            var sequence = first;
            foreach (var payload in payloads)
            {
                var header = buffer.AsSpan(position, HeaderLength);
                BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
                BinaryPrimitives.WriteInt32LittleEndian(header[4..], payload.Length);
                BinaryPrimitives.WriteInt64LittleEndian(header[8..], sequence++);
                var crc = new Crc32();
                crc.Append(header.Slice(8, 8));
                crc.Append(payload);
                BinaryPrimitives.WriteUInt32LittleEndian(header[16..], crc.GetCurrentHashAsUInt32());
                payload.CopyTo(buffer.AsSpan(position + HeaderLength));
                position += HeaderLength + payload.Length;
            }

            var stream = _currentStream!;
            var before = stream.Length;
            try
            {
                stream.Write(buffer, 0, length);
                stream.Flush(flushToDisk: true);
            }
            catch
            {
                TryCutBack(stream, before);
                throw;
            }

            _nextSequence = sequence;
            lock (_segmentsLock)
            {
                _current!.Bytes += length;
                _current.LastSequence = sequence - 1;
            }

            Interlocked.Add(ref _bytes, length);
            return first;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void TryCutBack(FileStream stream, long length)
    {
        try
        {
            stream.SetLength(length);
            stream.Position = length;
        }
        catch (IOException)
        {
            // The scan at the next start finds the torn record and cuts it; it was never acknowledged.
        }
    }

    private void StartSegment()
    {
        _currentStream?.Dispose();
        var path = Path.Combine(_directory, _nextSequence.ToString("D19", CultureInfo.InvariantCulture) + SegmentExtension);
        _currentStream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
        SyncDirectory(); // the new file's name must survive a power cut as its records do
        var segment = new Segment(path) { LastSequence = _nextSequence - 1 };
        lock (_segmentsLock)
        {
            _segments.Add(segment);
            _current = segment;
        }
    }

    /// <summary>
    /// Records the store has everything up to <paramref name="sequence"/>: the checkpoint is replaced atomically (a new
    /// file renamed over the old), and segments wholly before it, other than the one being written, are deleted.
    /// </summary>
    public void Commit(long sequence)
    {
        if (sequence <= Checkpoint)
        {
            return;
        }

        var temporary = Path.Combine(_directory, CheckpointFileName + ".tmp");
        var content = new byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(content, sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(content.AsSpan(8), Crc32.HashToUInt32(content.AsSpan(0, 8)));
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, Path.Combine(_directory, CheckpointFileName), overwrite: true);
        Interlocked.Exchange(ref _checkpoint, sequence);

        List<Segment> done;
        lock (_segmentsLock)
        {
            done = _segments.Where(s => s != _current && s.LastSequence <= sequence).ToList();
            _segments.RemoveAll(done.Contains);
        }

        foreach (var segment in done)
        {
            File.Delete(segment.Path);
            Interlocked.Add(ref _bytes, -segment.Bytes);
        }
    }

    /// <summary>Closes the segment being written and, when the store has every record, deletes it too: an empty journal.</summary>
    public void CloseAndDeleteFlushed()
    {
        _currentStream?.Dispose();
        _currentStream = null;
        lock (_segmentsLock)
        {
            if (_current is { } current && current.LastSequence <= Checkpoint)
            {
                File.Delete(current.Path);
                _segments.Remove(current);
                Interlocked.Add(ref _bytes, -current.Bytes);
            }

            _current = null;
        }
    }

    private long ReadCheckpoint()
    {
        var path = Path.Combine(_directory, CheckpointFileName);
        if (!File.Exists(path))
        {
            return 0;
        }

        var content = File.ReadAllBytes(path);
        if (content.Length != 12 || Crc32.HashToUInt32(content.AsSpan(0, 8)) != BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan(8)))
        {
            return 0; // unreadable: replay everything; the store counts an event id once
        }

        return Math.Max(0, BinaryPrimitives.ReadInt64LittleEndian(content));
    }

    /// <summary>fsync of the directory, so a new segment's name is as durable as its content (Linux; elsewhere a no-op).</summary>
    private void SyncDirectory()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var descriptor = NativeFiles.Open(_directory, 0 /* O_RDONLY */);
        if (descriptor >= 0)
        {
            _ = NativeFiles.Fsync(descriptor);
            _ = NativeFiles.Close(descriptor);
        }
    }

    public void Dispose()
    {
        _currentStream?.Dispose();
        _lockFile.Dispose();
    }

    private sealed class Segment(string path)
    {
        public string Path { get; } = path;

        public long Bytes { get; set; }

        public long LastSequence { get; set; }
    }
}

/// <summary>Another process owns the journal directory.</summary>
internal sealed class JournalLockedException(string directory, Exception inner) : Exception(
    $"The ingest journal directory '{directory}' is in use by another process. Each ingest process needs a journal " +
    "directory of its own: set ErrorHub:Ingest:Journal:Directory per instance.", inner);

internal static partial class NativeFiles
{
    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    internal static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close")]
    internal static partial int Close(int descriptor);
}
