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
/// Appends are written and made durable together (<see cref="Append"/>, one thread); a record is acknowledged only after.
/// <para>
/// A segment is preallocated: created under another name, filled with zeros to its full size, fsynced, then renamed to
/// its segment name (and the directory fsynced) when it becomes the one written. An append then writes into blocks the file
/// already has, within a size that never changes, so its durability needs only <c>fdatasync</c> of its data: no metadata,
/// so no wait for the file system's journal commit, which ext4 shares with every other writer on the disk (ClickHouse's
/// parts). A scan stops at the zeros after the last record. The next segment is prepared ahead on a thread of its own; a
/// rotation that finds it not ready yet starts a segment that grows with each append (fsync, as segments of earlier
/// releases did), and segments of either kind are read alike.
/// </para>
/// </summary>
internal sealed class JournalFiles : IDisposable
{
    internal const string LockFileName = "journal.lock";
    internal const string CheckpointFileName = "checkpoint";
    internal const string SegmentExtension = ".seg";
    internal const string PreparedFileName = "next-segment.prepared";
    internal const int HeaderLength = 20;
    private const uint Magic = 0x314A_4845; // "EHJ1" little-endian
    private static readonly long PageBytes = Math.Max(Environment.SystemPageSize, 4096);
    private const int ZeroChunkBytes = 1024 * 1024;
    private const int ZerosBetweenSyncs = 8 * ZeroChunkBytes;

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
    private Task<bool>? _preparing; // the next segment, zero-filled ahead: true once durable and ready to be renamed
    private readonly CancellationTokenSource _closing = new();
    private bool _disposed;

    private JournalFiles(string directory, long segmentBytes, FileStream lockFile)
    {
        _directory = directory;
        _segmentBytes = segmentBytes;
        _lockFile = lockFile;
    }

    /// <summary>
    /// Bytes of the records in the segment files (the journal's room is counted in these). On disk there are also the zeros
    /// after the last record of the segment being written and the segment prepared ahead: at most 2 segments more.
    /// </summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Segments started without a prepared one ready (they grow with each append, fsync instead of fdatasync).</summary>
    public long GrownSegments { get; private set; }

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
    /// store already has, then prepares the first segment to write. Never throws for what it finds in the files.
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

            // Before ingest serves, so the first segment is a prepared one too (one a crash left half filled is written over).
            files._preparing = Task.FromResult(files.Prepare(CancellationToken.None));
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

                var rest = bytes.AsSpan(position);
                if (!rest.ContainsAnyExcept((byte)0))
                {
                    // The zeros a preallocated segment holds after its last record: its end, nothing torn.
                    segment.Bytes = position;
                    break;
                }

                var next = NextValidRecord(bytes, position + 1);
                if (next < 0)
                {
                    // The end was never made durable whole, so never acknowledged: cut it off (and a preallocated segment's
                    // zeros with it: a segment found at start is never written again).
                    tornBytes += rest.LastIndexOfAnyExcept((byte)0) + 1;
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
    /// Appends the payloads as records, in order, with one write and one flush to disk; returns the first one's sequence
    /// number (the others follow it). On failure nothing of them counts: the segment is cut back to where it was, and it
    /// throws. One caller at a time.
    /// </summary>
    public long Append(IReadOnlyList<byte[]> payloads)
    {
        var length = payloads.Sum(p => HeaderLength + p.Length);

        // A preallocated segment takes a write only whole within its size (an empty one takes any write, growing for a write
        // larger than a segment); a grown one, as before, until it reaches the segment size.
        if (_currentStream is null
            || _current!.Bytes >= _segmentBytes
            || (_current.Bytes > 0 && _current.Preallocated > 0 && _current.Bytes + length > _current.Preallocated))
        {
            StartSegment();
        }

        // Within a preallocated segment the write runs on, with the zeros the segment already holds there, to the end of its
        // last page: a write that ends inside a page makes the kernel read that page first when it is no longer cached (zeros
        // written when the segment was prepared, maybe minutes ago, are the first pages reclaimed), and that read is waited
        // for by every request in the group. The first page is the one the previous append wrote.
        var segment = _current!;
        var before = segment.Bytes;
        var written = length;
        if (before + length <= segment.Preallocated)
        {
            var pageEnd = (before + length + PageBytes - 1) / PageBytes * PageBytes;
            written = (int)(Math.Min(pageEnd, segment.Preallocated) - before);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(written);
        var first = _nextSequence;
        try
        {
            buffer.AsSpan(length, written - length).Clear();
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
            try
            {
                stream.Position = before;
                stream.Write(buffer, 0, written);
                if (before + written <= segment.Preallocated)
                {
                    // Within the size made durable when the segment was prepared: only these data blocks need to reach the disk.
                    FlushData(stream);
                }
                else
                {
                    stream.Flush(flushToDisk: true); // the file grew: its new size must be durable too
                }

                // A segment deleted while open (by hand, a cleanup job) still takes writes and flushes, into a file no
                // name leads to: after a crash nothing would replay them. So no answer says they are kept.
                if (IsUnlinked(stream))
                {
                    throw new JournalSegmentLostException(segment.Path);
                }
            }
            catch (JournalSegmentLostException)
            {
                // The next append starts a new segment (under a name of its own, its name made durable). Records of the lost one
                // acknowledged before its loss are still in memory and reach the store from there, unless ingest dies first.
                _currentStream = null;
                stream.Dispose();
                lock (_segmentsLock)
                {
                    _current = null;
                    if (segment.Bytes == 0)
                    {
                        _segments.Remove(segment); // no record of it counts; the new segment may take its name
                    }
                }

                throw;
            }
            catch
            {
                TryCutBack(stream, segment, before);
                throw;
            }

            _nextSequence = sequence;
            lock (_segmentsLock)
            {
                segment.Bytes += length;
                segment.LastSequence = sequence - 1;
            }

            Interlocked.Add(ref _bytes, length);
            return first;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// True when the file open in <paramref name="stream"/> has no name left (its link count is 0: it was deleted).
    /// Linux only (statx); false where that cannot be asked, and from then on not asked again.
    /// </summary>
    private static bool IsUnlinked(FileStream stream)
    {
        if (!OperatingSystem.IsLinux() || s_statxUnavailable)
        {
            return false;
        }

        var handle = stream.SafeFileHandle;
        var added = false;
        Span<byte> status = stackalloc byte[NativeFiles.StatxBytes];
        try
        {
            handle.DangerousAddRef(ref added);
            if (NativeFiles.Statx((int)handle.DangerousGetHandle(), "", NativeFiles.AtEmptyPath, NativeFiles.StatxNlink, status) != 0)
            {
                s_statxUnavailable = true; // an old kernel, or a sandbox that refuses the call
                return false;
            }
        }
        catch (EntryPointNotFoundException)
        {
            s_statxUnavailable = true;
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        var mask = BinaryPrimitives.ReadUInt32LittleEndian(status);
        return (mask & NativeFiles.StatxNlink) != 0 && BinaryPrimitives.ReadUInt32LittleEndian(status[NativeFiles.StatxNlinkOffset..]) == 0;
    }

    private static bool s_statxUnavailable;

    /// <summary>fdatasync (Linux): the data written, not the file's times; elsewhere a whole flush to disk.</summary>
    private static void FlushData(FileStream stream)
    {
        if (!OperatingSystem.IsLinux())
        {
            stream.Flush(flushToDisk: true);
            return;
        }

        var handle = stream.SafeFileHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (NativeFiles.Fdatasync((int)handle.DangerousGetHandle()) != 0)
            {
                throw new IOException($"fdatasync of the journal segment failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static void TryCutBack(FileStream stream, Segment segment, long length)
    {
        // Whatever the failed write left past the cut is no longer known to be zeros or durable: later appends to this
        // segment flush the file whole (fsync), as in a grown segment.
        segment.Preallocated = Math.Min(segment.Preallocated, length);
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
        _currentStream = null;
        var path = Path.Combine(_directory, _nextSequence.ToString("D19", CultureInfo.InvariantCulture) + SegmentExtension);
        long preallocated = 0;
        if (_preparing is { IsCompletedSuccessfully: true, Result: true })
        {
            // Zeros to its full size, made durable when prepared: renamed, it is this segment (its name made durable below).
            // Taken whether or not the rename works, so a failure here is not met again by every append: the next is prepared anew.
            _preparing = null;
            try
            {
                File.Move(PreparedPath, path);
                _currentStream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
                preallocated = _currentStream.Length;
            }
            catch (IOException)
            {
                _currentStream?.Dispose();
                _currentStream = null;
            }
        }

        if (_currentStream is null)
        {
            // None ready (still being written, or lost): a segment that grows, rather than appends waiting for zeros. A file
            // of this name holds no record anyone was answered for (every segment found at start is named below this number).
            _currentStream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
            GrownSegments++;
        }

        SyncDirectory(); // the new file's name must survive a power cut as its records do
        var segment = new Segment(path) { LastSequence = _nextSequence - 1, Preallocated = preallocated };
        lock (_segmentsLock)
        {
            _segments.Add(segment);
            _current = segment;
        }

        if (preallocated > 0 || _preparing is null || _preparing.IsCompleted)
        {
            _preparing = Task.Factory.StartNew(() => Prepare(_closing.Token), _closing.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    private string PreparedPath => Path.Combine(_directory, PreparedFileName);

    /// <summary>The segment being prepared ahead: complete once it is ready (or could not be made).</summary>
    internal Task NextSegmentPrepared => _preparing ?? Task.CompletedTask;

    /// <summary>
    /// The next segment: zeros written to its full size (real blocks: <c>fallocate</c> alone leaves extents whose first write
    /// is again a change of metadata) and fsynced. False when it could not be made (the disk; a grown segment is used then).
    /// </summary>
    private bool Prepare(CancellationToken cancellationToken)
    {
        try
        {
            var zeros = new byte[ZeroChunkBytes];
            using var stream = new FileStream(PreparedPath, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            for (long written = 0; written < _segmentBytes && !cancellationToken.IsCancellationRequested;)
            {
                var chunk = (int)Math.Min(zeros.Length, _segmentBytes - written);
                stream.Write(zeros, 0, chunk);
                written += chunk;

                // In steps, so the disk never holds tens of megabytes of this file's writes queued ahead of an append's flush.
                if (written % ZerosBetweenSyncs == 0 || written == _segmentBytes)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            return !cancellationToken.IsCancellationRequested;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Ends any preparing and deletes the prepared segment: it holds nothing.</summary>
    private void DiscardPrepared()
    {
        _closing.Cancel();
        try
        {
            _preparing?.Wait();
        }
        catch (AggregateException)
        {
            // cancelled before it started
        }

        try
        {
            File.Delete(PreparedPath);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // written over at the next start
        }
    }

    /// <summary>
    /// Records the store has everything up to <paramref name="sequence"/>: the checkpoint is replaced atomically (a new
    /// file renamed over the old), and segments wholly before it, other than the one being written, are deleted.
    /// </summary>
    /// <remarks>
    /// On a full disk the checkpoint's new file finds no room, and the segments the store now has hold it all: they are deleted
    /// first then, and the checkpoint written after. Nothing depends on that order: the checkpoint only spares the next start
    /// replaying records the store has (and the store leaves out the ids it has), and a segment is scanned on its own.
    /// </remarks>
    public void Commit(long sequence)
    {
        if (sequence <= Checkpoint)
        {
            return;
        }

        try
        {
            WriteCheckpoint(sequence);
        }
        catch (IOException) when (HasSegmentsUpTo(sequence))
        {
            DeleteSegmentsUpTo(sequence);
            WriteCheckpoint(sequence);
        }

        Interlocked.Exchange(ref _checkpoint, sequence);
        DeleteSegmentsUpTo(sequence);
    }

    private void WriteCheckpoint(long sequence)
    {
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
    }

    private bool HasSegmentsUpTo(long sequence)
    {
        lock (_segmentsLock)
        {
            return _segments.Any(s => s != _current && s.LastSequence <= sequence);
        }
    }

    /// <summary>Deletes the segments wholly at or before <paramref name="sequence"/>, other than the one being written; one that cannot be deleted stays listed.</summary>
    private void DeleteSegmentsUpTo(long sequence)
    {
        List<Segment> done;
        lock (_segmentsLock)
        {
            done = _segments.Where(s => s != _current && s.LastSequence <= sequence).ToList();
        }

        foreach (var segment in done)
        {
            File.Delete(segment.Path);
            lock (_segmentsLock)
            {
                _segments.Remove(segment);
            }

            Interlocked.Add(ref _bytes, -segment.Bytes);
        }
    }

    /// <summary>Closes the segment being written and, when the store has every record, deletes it too: an empty journal.</summary>
    public void CloseAndDeleteFlushed()
    {
        _currentStream?.Dispose();
        _currentStream = null;
        DiscardPrepared();
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
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _currentStream?.Dispose();
        DiscardPrepared();
        _closing.Dispose();
        _lockFile.Dispose();
    }

    private sealed class Segment(string path)
    {
        public string Path { get; } = path;

        /// <summary>Bytes of its records: where the next append goes.</summary>
        public long Bytes { get; set; }

        /// <summary>The size made durable, all zeros past <see cref="Bytes"/>, when it was prepared; 0 for a segment that grows.</summary>
        public long Preallocated { get; set; }

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

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    internal static partial int Fdatasync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close")]
    internal static partial int Close(int descriptor);

    internal const int AtEmptyPath = 0x1000;
    internal const uint StatxNlink = 0x4;
    internal const int StatxBytes = 256;
    internal const int StatxNlinkOffset = 16; // after stx_mask, stx_blksize (u32 each) and stx_attributes (u64)

    /// <summary>statx(2) of an open descriptor (an empty path with AT_EMPTY_PATH): the same layout on every architecture.</summary>
    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Statx(int descriptor, string path, int flags, uint mask, Span<byte> status);
}

/// <summary>The segment being written was deleted while open: what was just written there has no name on disk.</summary>
internal sealed class JournalSegmentLostException(string path)
    : IOException($"the journal segment {Path.GetFileName(path)} was deleted while ingest wrote to it; this write is not durable and is refused, and a new segment is started");
