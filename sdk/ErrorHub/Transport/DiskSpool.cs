using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Transport;

/// <summary>
/// Batches waiting on disk (<see cref="ErrorHubOptions.CacheDirectory"/>) while ingest cannot take them. One file per
/// batch, named so that names sort oldest first; written under a temporary name and renamed, so a reader never sees
/// half a file. A file is sent while its sender holds an exclusive lock on it and deleted before the lock is let go:
/// processes sharing the directory never send the same file twice, and a process that dies lets go of its lock.
/// A file that is cut short or corrupt is deleted, logged and its events counted; a file of a newer SDK's format is left
/// for that SDK (an app rolled back and forward again loses nothing). Never throws to the app. Used only by the sender's loop.
/// </summary>
internal sealed partial class DiskSpool
{
    internal const string Extension = ".ehbatch";

    /// <summary>Counts of dropped events the server was not told about before the process stopped.</summary>
    internal const string DropsExtension = ".ehdrops";
    private const int MaxDropsFileBytes = 4096;
    private const string TemporaryExtension = ".ehtmp";
    private const int HeaderBytes = 8 + 4 + 4 + 32; // magic, event count, payload length, SHA-256 of the payload
    private static readonly byte[] Magic = "EHSPOOL1"u8.ToArray();

    /// <summary>What every format of the spool starts with; the byte after it is the format's version.</summary>
    private static readonly byte[] MagicFamily = "EHSPOOL"u8.ToArray();
    private static readonly TimeSpan AbandonedTemporaryAge = TimeSpan.FromMinutes(10);

    private readonly string _directory;
    private readonly long _maxBytes;
    private readonly SdkDrops _drops;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Internal.ThrottledWarning _storeFailures;
    private long _sequence;
    private bool _newerFormatLogged;

    /// <summary>
    /// Files of batches that were sent but that the disk would not delete (a file system remounted read-only): passed
    /// over, so a batch is not sent again and again, and deleted as soon as the disk lets them. Only this process knows:
    /// another one, or the next start, sends such a batch once more, and ingest counts its events once by their ids.
    /// </summary>
    private readonly HashSet<string> _sentNotDeleted = new(StringComparer.Ordinal);
    private volatile bool _anySentNotDeleted;

    /// <summary>Entries given up on that the disk would not delete (<see cref="GiveUp"/>): passed over, never read again.</summary>
    private readonly HashSet<string> _undeletable = new(StringComparer.Ordinal);
    private const int MaxUndeletable = 10_000;
    private bool _undeletableLogged;
    private DateTimeOffset _nextDeleteOfSentFiles;

    /// <summary>How often the files of sent batches the disk would not delete are tried again while the app sends nothing.</summary>
    internal static readonly TimeSpan SentFilesDeleteRetry = TimeSpan.FromSeconds(10);

    public DiskSpool(string directory, long maxBytes, SdkDrops drops, TimeProvider timeProvider, ILogger logger)
    {
        _directory = Path.GetFullPath(directory);
        _maxBytes = maxBytes;
        _drops = drops;
        _timeProvider = timeProvider;
        _logger = logger;
        _storeFailures = new Internal.ThrottledWarning(timeProvider);
    }

    /// <summary>
    /// The spool of <paramref name="directory"/>, or null (logged) when it is no path at all (a NUL character, say):
    /// the SDK then runs without a disk spool, as with a directory the disk refuses, instead of failing the app's start.
    /// </summary>
    public static DiskSpool? TryCreate(string directory, long maxBytes, SdkDrops drops, TimeProvider timeProvider, ILogger logger)
    {
        try
        {
            return new DiskSpool(directory, maxBytes, drops, timeProvider, logger);
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException or PathTooLongException or System.Security.SecurityException)
        {
            LogInvalidDirectory(logger, exception.Message);
            return null;
        }
    }

    public string Directory => _directory;

    /// <summary>Called between an entry's check and its open, where a test swaps the entry for something else.</summary>
    internal Action<string>? AfterEntryCheckedForTests { get; set; }

    /// <summary>Writes a batch to disk; false (logged) when the disk refuses it.</summary>
    public bool TryStore(IReadOnlyList<byte[]> events)
    {
        if (events.Count == 0)
        {
            return true;
        }

        var temporary = Path.Combine(_directory, Guid.NewGuid().ToString("N") + TemporaryExtension);
        try
        {
            System.IO.Directory.CreateDirectory(_directory);
            var payloadLength = events.Sum(e => 4L + e.Length);
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                WriteBatch(file, events, payloadLength);
            }

            // The name sorts by when the batch was stored; the sequence keeps one process's batches of the same tick in order.
            var name = $"{_timeProvider.GetUtcNow().UtcTicks:D19}-{Interlocked.Increment(ref _sequence):D10}-{Guid.NewGuid():N}{Extension}";
            File.Move(temporary, Path.Combine(_directory, name));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            WarnStoreFailed(events.Count, exception.Message);
            TryDelete(temporary);
            return false;
        }

        KeepWithinLimit();
        return true;
    }

    /// <summary>
    /// The oldest batch no other sender holds, locked until the returned batch is completed or released; null when
    /// none is left. Corrupt files on the way are deleted and their events counted (<c>send_failed</c>: the spool
    /// could not keep what ingest did not take); a newer SDK's files are passed over.
    /// </summary>
    public SpooledBatch? TryTakeOldest()
    {
        foreach (var path in BatchFilesOldestFirst())
        {
            if (NotAFileTheSdkWrote(path) is { } notAFile)
            {
                // Never opened: a FIFO would block the sender's loop, a link to a device would be read without end.
                GiveUp(path, notAFile);
                continue;
            }

            AfterEntryCheckedForTests?.Invoke(path);
            if (TryLock(path, out var unreadable) is not { } file)
            {
                if (unreadable is not null)
                {
                    // A file swapped for a FIFO or socket after the check above (opened without waiting, never read), or
                    // one this process may not read.
                    GiveUp(path, unreadable);
                }

                continue; // another sender holds it, or it was sent and deleted meanwhile
            }

            if (IsPastTheLimit(file))
            {
                // Not read: reading it would hold the whole file in memory, and no spool within the limit wrote it.
                var claimed = TryReadEventCount(file);
                var count = claimed is > 0 and <= MostEventsInAFile ? claimed : 1;
                var length = file.Length;
                GiveUp(path, $"its {length} bytes are more than MaxCacheBytes ({_maxBytes})", count, SdkDropReason.SpoolFull,
                    deleted => LogPastTheLimit(_logger, deleted, length, _maxBytes, count));
                file.Dispose();
                continue;
            }

            var events = TryRead(file, out var problem, out var lostEvents);
            if (events is null)
            {
                if (lostEvents == NewerFormat)
                {
                    // Left for the newer SDK that wrote it (an app rolled back, to be rolled forward again).
                    file.Dispose();
                    LogNewerFormatOnce(path);
                    continue;
                }

                GiveUp(path, problem, lostEvents);
                file.Dispose();
                continue;
            }

            return new SpooledBatch(this, path, file, events);
        }

        return null;
    }

    public bool HasBatches()
    {
        try
        {
            return System.IO.Directory.Exists(_directory) && System.IO.Directory.EnumerateFiles(_directory, "*" + Extension).Any();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Keeps drop counts (reason name to count) that the server was not told about, for the next start to report.
    /// One small text file, written under a temporary name and renamed like a batch. False (logged) when the disk refuses.
    /// </summary>
    public bool TryStoreDrops(IReadOnlyList<KeyValuePair<string, long>> drops)
    {
        if (drops.Count == 0)
        {
            return true;
        }

        var temporary = Path.Combine(_directory, Guid.NewGuid().ToString("N") + TemporaryExtension);
        try
        {
            System.IO.Directory.CreateDirectory(_directory);
            File.WriteAllLines(temporary, drops.Select(d => $"{d.Key} {d.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}"));
            File.Move(temporary, Path.Combine(_directory, $"{_timeProvider.GetUtcNow().UtcTicks:D19}-{Guid.NewGuid():N}{DropsExtension}"));
            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            WarnStoreFailed((int)Math.Min(int.MaxValue, SdkDrops.Sum(drops)), exception.Message);
            TryDelete(temporary);
            return false;
        }
    }

    /// <summary>
    /// Drop counts an earlier run kept, each file taken by one process only (renamed to a name of its own first) and
    /// deleted once read. Lines that are not "reason count" with a known reason are ignored; so is an oversized file.
    /// </summary>
    public List<KeyValuePair<string, long>> TakeStoredDrops(IReadOnlySet<string> knownReasons)
    {
        var drops = new List<KeyValuePair<string, long>>();
        List<string> files;
        try
        {
            files = System.IO.Directory.Exists(_directory)
                ? [.. System.IO.Directory.EnumerateFiles(_directory, "*" + DropsExtension)]
                : [];
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return drops;
        }

        foreach (var path in files)
        {
            var taken = Path.Combine(_directory, Guid.NewGuid().ToString("N") + TemporaryExtension);
            try
            {
                File.Move(path, taken); // another process sharing the directory may have taken it first
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            try
            {
                if (NotAFileTheSdkWrote(taken) is null && ReadAtMost(taken, MaxDropsFileBytes) is { } text)
                {
                    foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    {
                        var parts = line.Split(' ');
                        if (parts.Length == 2 && knownReasons.Contains(parts[0])
                            && long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
                            && count > 0)
                        {
                            drops.Add(new(parts[0], count));
                        }
                    }
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
            }
            finally
            {
                TryDelete(taken);
            }
        }

        return drops;
    }

    /// <summary>Deletes temporary files that a process which died while writing left behind.</summary>
    public void RemoveAbandonedTemporaryFiles()
    {
        try
        {
            if (!System.IO.Directory.Exists(_directory))
            {
                return;
            }

            foreach (var path in System.IO.Directory.EnumerateFiles(_directory, "*" + TemporaryExtension))
            {
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(path) > AbandonedTemporaryAge)
                {
                    TryDelete(path);
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void WarnStoreFailed(int count, string reason)
    {
        // A directory the disk refuses refuses every batch: one line, then at most one a minute, not one per batch.
        if (_storeFailures.TryTake(out var notWritten))
        {
            LogStoreFailed(_logger, count, _directory, reason, notWritten);
        }
    }

    private void LogNewerFormatOnce(string path)
    {
        if (!_newerFormatLogged)
        {
            _newerFormatLogged = true;
            LogNewerFormat(_logger, Path.GetFileName(path), _directory);
        }
    }

    private void KeepWithinLimit()
    {
        List<FileInfo> files;
        try
        {
            files = new DirectoryInfo(_directory).EnumerateFiles("*" + Extension).OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return;
        }

        var total = files.Sum(f => f.Length);
        if (total <= _maxBytes)
        {
            return;
        }

        // A newer SDK's files are neither this SDK's to delete nor to count: that SDK keeps its own limit. Nor are links
        // and FIFOs (never opened here; the next read deletes them): a link's length is its target's.
        files.RemoveAll(f => NotAFileTheSdkWrote(f.FullName) is not null || IsNewerFormat(f.FullName));
        total = files.Sum(f => f.Length);
        for (var i = 0; i < files.Count && total > _maxBytes; i++)
        {
            // Only a file nobody is sending can go; its event count is read under the same lock.
            try
            {
                using var file = TryLock(files[i].FullName, out _);
                if (file is null)
                {
                    continue;
                }

                var count = TryReadEventCount(file);
                File.Delete(files[i].FullName);
                total -= files[i].Length;
                _drops.Add(SdkDropReason.SpoolFull, count);
                LogSpoolFull(_logger, count, _maxBytes);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>
    /// Why the entry at <paramref name="path"/> is not a file this SDK wrote, or null when it may be one. The SDK writes
    /// regular files of one byte at least; a symbolic link (to a device, a FIFO or a file anywhere on the disk) is
    /// never followed, and an empty entry is never opened: FIFOs, sockets and devices all report a length of zero, and
    /// opening a FIFO blocks until something writes to it.
    /// </summary>
    private static string? NotAFileTheSdkWrote(string path)
    {
        try
        {
            var entry = new FileInfo(path);
            if (entry.LinkTarget is not null)
            {
                return "a symbolic link, not a file the SDK wrote";
            }

            return entry.Length == 0 ? "empty, or a FIFO or device rather than a file" : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null; // gone meanwhile, or not ours to look at: opening it answers the same way
        }
    }

    /// <summary>The UTF-8 text of a file of at most <paramref name="maxBytes"/>, or null when it is longer, however long it grows while read.</summary>
    private static string? ReadAtMost(string path, int maxBytes)
    {
        using var file = SpoolFileOpener.TryOpen(path, exclusive: false, out _);
        if (file is null)
        {
            return null;
        }

        var buffer = new byte[maxBytes + 1];
        var read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        return read > maxBytes ? null : System.Text.Encoding.UTF8.GetString(buffer, 0, read);
    }

    /// <summary>
    /// Opens a batch file with the exclusive lock, or null when another sender holds it or it is gone. On Unix the lock
    /// is taken just after the file is opened, not with it: a sender that opened the file just before another one sent
    /// it, deleted it and let go of its lock would get the lock on a deleted file and send that batch a second time. So
    /// the name is looked up again under the lock (names are never reused: if it is still there, nobody completed it).
    /// </summary>
    private static FileStream? TryLock(string path, out string? unreadable)
    {
        // Never a plain open: the entry may have been swapped for a FIFO since it was checked, and that open would wait.
        if (SpoolFileOpener.TryOpen(path, exclusive: true, out unreadable) is not { } file)
        {
            return null;
        }

        if (File.Exists(path))
        {
            return file;
        }

        file.Dispose();
        return null;
    }

    private List<string> BatchFilesOldestFirst()
    {
        DeleteSentFiles();
        try
        {
            if (!System.IO.Directory.Exists(_directory))
            {
                return [];
            }

            return System.IO.Directory.EnumerateFiles(_directory, "*" + Extension)
                .Where(path => !IsSentNotDeleted(path) && !IsUndeletable(path))
                .Order(StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static void WriteBatch(Stream file, IReadOnlyList<byte[]> events, long payloadLength)
    {
        var payload = new byte[payloadLength];
        var offset = 0;
        foreach (var encoded in events)
        {
            BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(offset), encoded.Length);
            encoded.CopyTo(payload.AsSpan(offset + 4));
            offset += 4 + encoded.Length;
        }

        Span<byte> header = stackalloc byte[HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], events.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], payload.Length);
        SHA256.HashData(payload, header[16..]);
        file.Write(header);
        file.Write(payload);
    }

    /// <summary>A whole queue (MaxQueueSize, at most 1,000,000) and a batch, stored at shutdown: a larger count is damage.</summary>
    private const int MostEventsInAFile = 1_000_000 + 1000;

    /// <summary><see cref="TryRead"/>'s lost-event count for a file of a newer format, which is not lost.</summary>
    private const int NewerFormat = -1;

    /// <summary>
    /// The batch's events, or null with why not and how many events the file held (<see cref="NewerFormat"/> for a
    /// newer SDK's file). A batch file always held one event at least; the header's count is taken when it is plausible.
    /// </summary>
    private static List<byte[]>? TryRead(FileStream file, out string problem, out int lostEvents)
    {
        lostEvents = 1;
        try
        {
            var length = file.Length;
            Span<byte> header = stackalloc byte[HeaderBytes];
            var read = file.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false);
            if (IsNewerMagic(header[..Math.Min(read, Magic.Length)]))
            {
                problem = "written by a newer SDK";
                lostEvents = NewerFormat;
                return null;
            }

            if (read >= 12 && header[..8].SequenceEqual(Magic))
            {
                var claimed = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
                lostEvents = claimed is > 0 and <= MostEventsInAFile ? claimed : 1;
            }

            if (length < HeaderBytes || read != HeaderBytes || !header[..8].SequenceEqual(Magic))
            {
                problem = "not a spooled batch";
                return null;
            }

            var count = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            if (count <= 0 || payloadLength < count * 4L || payloadLength != length - HeaderBytes)
            {
                problem = "cut short or longer than written";
                return null;
            }

            var payload = new byte[payloadLength];
            file.ReadExactly(payload);
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(payload, hash);
            if (!hash.SequenceEqual(header[16..]))
            {
                problem = "the content does not match its checksum";
                return null;
            }

            var events = new List<byte[]>(count);
            var offset = 0;
            for (var i = 0; i < count; i++)
            {
                var eventLength = offset + 4 <= payload.Length ? BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(offset)) : -1;
                if (eventLength <= 0 || eventLength > payload.Length - offset - 4)
                {
                    problem = "an event's length is out of bounds";
                    return null;
                }

                events.Add(payload.AsSpan(offset + 4, eventLength).ToArray());
                offset += 4 + eventLength;
            }

            problem = "";
            return events;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or OutOfMemoryException)
        {
            problem = exception.Message;
            return null;
        }
    }

    /// <summary>Whether the locked <paramref name="file"/> alone is larger than MaxCacheBytes and not a newer SDK's (which keeps its own limit).</summary>
    private bool IsPastTheLimit(FileStream file)
    {
        try
        {
            if (file.Length <= _maxBytes)
            {
                return false;
            }

            Span<byte> start = stackalloc byte[8];
            var newer = file.ReadAtLeast(start, 8, throwOnEndOfStream: false) == 8 && IsNewerMagic(start);
            file.Position = 0;
            return !newer;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool IsNewerFormat(string path)
    {
        try
        {
            using var file = SpoolFileOpener.TryOpen(path, exclusive: false, out _);
            if (file is null)
            {
                return false;
            }

            Span<byte> start = stackalloc byte[8];
            return file.ReadAtLeast(start, 8, throwOnEndOfStream: false) == 8 && IsNewerMagic(start);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The spool's magic with a later version than this SDK writes.</summary>
    private static bool IsNewerMagic(ReadOnlySpan<byte> start) =>
        start.Length >= Magic.Length && start[..MagicFamily.Length].SequenceEqual(MagicFamily) && start[MagicFamily.Length] > Magic[^1];

    private static int TryReadEventCount(FileStream file)
    {
        Span<byte> header = stackalloc byte[12];
        return file.Read(header) == 12 && header[..8].SequenceEqual(Magic) ? Math.Max(0, BinaryPrimitives.ReadInt32LittleEndian(header[8..])) : 0;
    }

    /// <summary>A sent batch's file the disk would not delete: remembered, passed over and deleted later (<see cref="_sentNotDeleted"/>).</summary>
    internal void RememberSentNotDeleted(string path, Exception exception)
    {
        lock (_sentNotDeleted)
        {
            if (!_sentNotDeleted.Add(path))
            {
                return;
            }

            _anySentNotDeleted = true;
            _nextDeleteOfSentFiles = _timeProvider.GetUtcNow() + SentFilesDeleteRetry;
        }

        LogSentNotDeleted(_logger, Path.GetFileName(path), _directory, exception.Message);
    }

    /// <summary>Deletes the files of sent batches the disk refused to delete before, where it lets them now; nothing to do (the usual case) costs a field read.</summary>
    public void DeleteSentFiles()
    {
        if (!_anySentNotDeleted)
        {
            return;
        }

        lock (_sentNotDeleted)
        {
            _sentNotDeleted.RemoveWhere(static path =>
            {
                try
                {
                    File.Delete(path); // no error when it is gone already (another process deleted it)
                    return true;
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    return false; // still refused: tried again later
                }
            });
            _anySentNotDeleted = _sentNotDeleted.Count > 0;
            _nextDeleteOfSentFiles = _timeProvider.GetUtcNow() + SentFilesDeleteRetry;
        }
    }

    /// <summary>
    /// When the files of sent batches the disk would not delete are next tried (<see cref="DeleteSentFiles"/>), or null
    /// when there are none. The sender wakes for it even when the app sends nothing: a quiet app would otherwise keep
    /// such a file until its next event, or send it once more at its next start.
    /// </summary>
    public DateTimeOffset? SentFilesDeleteDueAt
    {
        get
        {
            if (!_anySentNotDeleted)
            {
                return null;
            }

            lock (_sentNotDeleted)
            {
                return _anySentNotDeleted ? _nextDeleteOfSentFiles : null;
            }
        }
    }

    private bool IsSentNotDeleted(string path)
    {
        if (!_anySentNotDeleted)
        {
            return false;
        }

        lock (_sentNotDeleted)
        {
            return _sentNotDeleted.Contains(path);
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Gives up on an entry that is no batch, that this process may not read, whose content is damaged or that is past the
    /// byte limit: deleted, logged and counted (<paramref name="lostEvents"/>, one when its count cannot be read). One the
    /// disk will not delete (a directory with the sticky bit, another user's file, a read-only directory) is passed over
    /// from then on, never opened or read again, counted once and logged once for them all: met every round, it would be
    /// read, counted and logged every round.
    /// </summary>
    private void GiveUp(string path, string problem, int lostEvents = 1, SdkDropReason reason = SdkDropReason.SendFailed, Action<string>? logDeleted = null)
    {
        if (TryDelete(path))
        {
            if (logDeleted is null)
            {
                LogCorrupt(_logger, Path.GetFileName(path), problem, lostEvents);
            }
            else
            {
                logDeleted(Path.GetFileName(path));
            }

            _drops.Add(reason, lostEvents);
            return;
        }

        lock (_undeletable)
        {
            // Bounded: past the cap, such entries are met again (and counted again) rather than held in memory without end.
            if (_undeletable.Count >= MaxUndeletable || !_undeletable.Add(path))
            {
                return;
            }
        }

        _drops.Add(reason, lostEvents);
        if (!_undeletableLogged)
        {
            _undeletableLogged = true;
            LogUndeletable(_logger, Path.GetFileName(path), _directory, problem, SdkDrops.Name(reason));
        }
    }

    private bool IsUndeletable(string path)
    {
        lock (_undeletable)
        {
            return _undeletable.Count > 0 && _undeletable.Contains(path);
        }
    }

    [LoggerMessage(20, LogLevel.Warning, "ErrorHub could not keep {Count} events in the cache directory {Directory}: {Reason} (at most one such line a minute; {NotWritten} more since the last one)")]
    private static partial void LogStoreFailed(ILogger logger, int count, string directory, string reason, long notWritten);

    [LoggerMessage(21, LogLevel.Warning, "ErrorHub deleted the unreadable cached batch {File} ({Count} events, counted as send_failed): {Problem}")]
    private static partial void LogCorrupt(ILogger logger, string file, string problem, int count);

    [LoggerMessage(22, LogLevel.Warning, "ErrorHub's cache directory is over {MaxBytes} bytes: deleted its oldest batch of {Count} events")]
    private static partial void LogSpoolFull(ILogger logger, int count, long maxBytes);

    [LoggerMessage(23, LogLevel.Warning, "ErrorHub runs without its disk spool: CacheDirectory is not a valid path ({Reason}); batches are retried in memory")]
    private static partial void LogInvalidDirectory(ILogger logger, string reason);

    [LoggerMessage(28, LogLevel.Warning, "ErrorHub sent the cached batch {File} but could not delete it from {Directory} ({Reason}); it is not sent again by this process and is deleted once the disk lets it")]
    private static partial void LogSentNotDeleted(ILogger logger, string file, string directory, string reason);

    [LoggerMessage(31, LogLevel.Warning, "ErrorHub gave up on the cached batch {File} in {Directory} ({Problem}) but could not delete it; it is passed over unread from now on, counted once as {Reason}, and so is any other like it, without another line")]
    private static partial void LogUndeletable(ILogger logger, string file, string directory, string problem, string reason);

    [LoggerMessage(30, LogLevel.Warning, "ErrorHub deleted the cached batch {File} without reading it: its {Length} bytes are more than MaxCacheBytes ({MaxBytes}); its {Count} events are counted as spool_full")]
    private static partial void LogPastTheLimit(ILogger logger, string file, long length, long maxBytes, int count);

    [LoggerMessage(24, LogLevel.Information, "ErrorHub left the cached batch {File} in {Directory} alone, and any others like it: a newer ErrorHub SDK wrote it, and sends it once it runs again")]
    private static partial void LogNewerFormat(ILogger logger, string file, string directory);
}

/// <summary>A batch read from the spool and locked against other senders until it is completed or released.</summary>
internal sealed class SpooledBatch(DiskSpool spool, string path, FileStream lockedFile, List<byte[]> events) : IDisposable
{
    public List<byte[]> Events => events;

    /// <summary>Sent or given up for good: the file goes, deleted before its lock is let go (or, when the disk refuses, remembered as sent).</summary>
    public void Complete()
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            spool.RememberSentNotDeleted(path, exception);
        }

        lockedFile.Dispose();
    }

    /// <summary>Lets the file go, to be sent later (by this process or another). Idempotent.</summary>
    public void Dispose() => lockedFile.Dispose();
}
