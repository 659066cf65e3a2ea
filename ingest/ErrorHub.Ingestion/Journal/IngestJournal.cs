using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Http;
using ErrorHub.Ingestion.Writing;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Ingestion.Journal;

/// <summary>
/// The durable ingest journal for the ClickHouse stores (docs/architecture.md, "The ingest journal"). A request's batch,
/// once validated and prepared, is appended as sent to local segment files; appends that gather while one is written go
/// in the next write with one fsync (group commit), and the request is answered 202 after that fsync. The batch as sent
/// stays in memory (the request only decoded it to validate it), and one flusher prepares its events, once, and inserts them into the store in large
/// inserts (up to <see cref="IngestJournalOptions.MaxConcurrentInserts"/> at once), retrying with back-off while the store
/// fails, then moves the checkpoint past them and deletes segments the store has. At start, before ingest serves, the
/// files are scanned; records after the checkpoint are replayed (prepared again from their bytes) before anything new.
/// Bounds: events in memory (<see cref="IngestJournalOptions.MaxPendingEvents"/>) and bytes on disk
/// (<see cref="IngestJournalOptions.MaxBytes"/>); past either, <see cref="StoreBusyException"/> (503, Retry-After).
/// </summary>
internal sealed partial class IngestJournal : IHostedService, IDisposable
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LastRetryDelay = TimeSpan.FromSeconds(5);

    private readonly IngestJournalOptions _options;
    private readonly IngestLimits _limits;
    private readonly IEventWriter _store;
    private readonly StoreSchemaState _schema;
    private readonly BatchPreparer _preparer;
    private readonly TimeProvider _time;
    private readonly ILogger<IngestJournal> _logger;

    private readonly object _appendLock = new(); // Monitor.Wait: the appender sleeps on it
    private List<PendingAppend> _appends = [];
    private bool _appendsClosed;
    private Thread? _appender;

    private readonly Lock _flushLock = new();
    private readonly Queue<Accepted> _accepted = new();
    private long _acceptedEvents; // the events of _accepted, under _flushLock
    private long _encodedBytesPerEvent; // of the latest insert prepared (0 before one, or for a store without encoded rows); the flusher's own
    private readonly SemaphoreSlim _flushSignal = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _stopDeadline = new(); // cancelled when a stop's flush runs out of time
    private Task _flusher = Task.CompletedTask;

    // The ids of the inserts under way, kept as they start and end rather than gathered again for each new insert: a set
    // of thousands of ids made per insert is a large object, and large objects bring on full collections.
    private readonly Dictionary<(int ProjectId, Guid EventId), int> _underWay = [];

    private JournalFiles? _files;
    private IReadOnlyList<JournalRecordLocation> _backlog = [];
    private long _pendingEvents;
    private long _reservedBytes;
    private long _skippedRecords;
    private long _replayedRecords;
    private long _failedInserts;
    private long _inserts;

    public IngestJournal(IOptions<IngestLimits> limits, IOptions<StoreOptions> store, IEventWriter eventWriter, StoreSchemaState schema, BatchPreparer preparer, TimeProvider time, ILogger<IngestJournal> logger)
    {
        _schema = schema;
        _limits = limits.Value;
        _options = _limits.Journal;
        _store = eventWriter;
        _preparer = preparer;
        _time = time;
        _logger = logger;
        IsActive = _options.Enabled && string.Equals(store.Value.Kind, StoreOptions.ClickHouseKind, StringComparison.OrdinalIgnoreCase);
        IgnoredForStore = _options.Enabled && !IsActive ? store.Value.Kind : null;
    }

    /// <summary>On, and the store is ClickHouse: batches are journaled instead of written synchronously.</summary>
    public bool IsActive { get; }

    private string? IgnoredForStore { get; }

    /// <summary>Events accepted (journaled, or waiting to be) and not yet in the store.</summary>
    public long PendingEvents => Interlocked.Read(ref _pendingEvents);

    /// <summary>
    /// Whether a batch could be taken now: below both bounds. Checked before a request's body is read, so a flood past the
    /// bounds costs no reading, decoding or memory; <see cref="AppendAsync"/> still checks exactly.
    /// </summary>
    public bool HasRoom => _files is { } files
        && Interlocked.Read(ref _pendingEvents) < _options.MaxPendingEvents
        && files.Bytes + Interlocked.Read(ref _reservedBytes) < _options.MaxBytes;

    /// <summary>Bytes of the journal's segment files.</summary>
    public long Bytes => _files?.Bytes ?? 0;

    /// <summary>Segment files on disk.</summary>
    public int Segments => _files?.SegmentCount ?? 0;

    /// <summary>Told how long each write and fsync of the appender took (the metrics' histogram).</summary>
    internal Action<TimeSpan>? AppendTimed { get; set; }

    /// <summary>Records replayed into the store since start.</summary>
    public long ReplayedRecords => Interlocked.Read(ref _replayedRecords);

    /// <summary>Records found but not stored since start: damaged in the files, or no longer valid when replayed.</summary>
    public long SkippedRecords => Interlocked.Read(ref _skippedRecords);

    /// <summary>Inserts that succeeded / failed (and were retried) since start.</summary>
    public long Inserts => Interlocked.Read(ref _inserts);

    public long FailedInserts => Interlocked.Read(ref _failedInserts);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (IgnoredForStore is { } kind)
        {
            LogIgnored(_logger, kind);
        }

        if (!IsActive)
        {
            return Task.CompletedTask;
        }

        var directory = _options.Directory ?? Path.GetFullPath("journal");
        _files = JournalFiles.Open(directory, _options.SegmentBytes, out var scan);
        _backlog = scan.Backlog;
        if (scan.TornBytesTruncated > 0)
        {
            LogTornTail(_logger, scan.TornBytesTruncated);
        }

        if (scan.CorruptRegions > 0)
        {
            Interlocked.Add(ref _skippedRecords, scan.CorruptRegions);
            LogCorrupt(_logger, scan.CorruptRegions, scan.CorruptBytes);
        }

        LogOpened(_logger, directory, scan.Backlog.Count, _files.Bytes);
        _appender = new Thread(AppendLoop) { IsBackground = true, Name = "ErrorHub journal appender" };
        _appender.Start();
        _flusher = Task.Run(FlushLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Journals a validated batch; completes once it is fsynced (durably accepted). Throws <see cref="StoreBusyException"/>
    /// past a bound, <see cref="StoreUnavailableException"/> when the journal cannot be written or is stopping.
    /// </summary>
    public Task AppendAsync(JournalPayload payload, int eventCount, CancellationToken cancellationToken)
    {
        if (_files is not { } files)
        {
            throw new StoreUnavailableException(new InvalidOperationException("the ingest journal is not open"));
        }

        var pending = Interlocked.Add(ref _pendingEvents, eventCount);
        if (pending > _options.MaxPendingEvents && pending != eventCount)
        {
            Interlocked.Add(ref _pendingEvents, -eventCount);
            throw new StoreBusyException();
        }

        var recordBytes = JournalFiles.HeaderLength + payload.Bytes.Length;
        if (files.Bytes + Interlocked.Add(ref _reservedBytes, recordBytes) > _options.MaxBytes)
        {
            Interlocked.Add(ref _reservedBytes, -recordBytes);
            Interlocked.Add(ref _pendingEvents, -eventCount);
            throw new StoreBusyException();
        }

        var append = new PendingAppend(payload, eventCount, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_appendLock)
        {
            if (_appendsClosed)
            {
                Interlocked.Add(ref _reservedBytes, -recordBytes);
                Interlocked.Add(ref _pendingEvents, -eventCount);
                throw new StoreUnavailableException(new InvalidOperationException("ingest is stopping"));
            }

            _appends.Add(append);
            if (_appends.Count == 1)
            {
                Monitor.Pulse(_appendLock);
            }
        }

        return append.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The group commit: whatever gathered while the previous write and fsync ran goes in the next one.</summary>
    private void AppendLoop()
    {
        var files = _files!;
        while (true)
        {
            List<PendingAppend> batch;
            lock (_appendLock)
            {
                while (_appends.Count == 0 && !_appendsClosed)
                {
                    Monitor.Wait(_appendLock);
                }

                if (_appends.Count == 0)
                {
                    return;
                }

                batch = _appends;
                _appends = [];
            }

            var bytes = batch.Sum(a => (long)JournalFiles.HeaderLength + a.Payload.Bytes.Length);
            long first;
            var started = _time.GetTimestamp();
            try
            {
                first = files.Append(batch.ConvertAll(a => a.Payload.Bytes));
                AppendTimed?.Invoke(_time.GetElapsedTime(started));
            }
            catch (Exception exception)
            {
                Interlocked.Add(ref _reservedBytes, -bytes);
                Interlocked.Add(ref _pendingEvents, -batch.Sum(a => (long)a.EventCount));
                LogAppendFailed(_logger, batch.Count, exception);
                foreach (var append in batch)
                {
                    append.Completion.TrySetException(new StoreUnavailableException(exception));
                }

                continue;
            }

            Interlocked.Add(ref _reservedBytes, -bytes);
            var journaledAt = _time.GetTimestamp();
            lock (_flushLock)
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    _accepted.Enqueue(new Accepted(first + i, batch[i].Payload, batch[i].EventCount, journaledAt));
                    _acceptedEvents += batch[i].EventCount;
                }
            }

            _flushSignal.Release();
            foreach (var append in batch)
            {
                append.Completion.TrySetResult();
            }
        }
    }

    private async Task FlushLoopAsync()
    {
        try
        {
            if (!_schema.IsReady)
            {
                // Started before the store could make its tables: what the journal holds waits for them (inserting sooner
                // only fails), and a stop meanwhile leaves it all for the next start.
                LogWaitingForSchema(_logger, _backlog.Count);
                try
                {
                    await _schema.Ready.WaitAsync(_stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            await ReplayAsync();

            // Up to MaxConcurrentInserts inserts at once, never two carrying the same event id; the checkpoint moves past an
            // insert's records only once every insert before it is stored too (a crash in between replays them, and the
            // store leaves out the ids it has). While inserts run, the next one is taken and prepared.
            var running = new Queue<RunningInsert>();
            long lastStart = 0;
            while (true)
            {
                // A light flow (less than half an insert waiting) is not taken while an insert runs: prepared now, its events
                // would only wait beside the running insert's (every collection meanwhile copies both: the half-load accept
                // tail, docs/benchmarks.md "journalgc") for an insert that starts when this one ends anyway. Taken then, it
                // also carries what came meanwhile.
                while (running.Count > 0 && (running.Peek().Stored.IsCompleted || !IsHalfAnInsert(WaitingEvents())))
                {
                    if (!await SettleOldestAsync(running))
                    {
                        return; // stopping past its deadline: the journal keeps the rest for the next start
                    }
                }

                await LingerAsync();
                var taken = new List<Accepted>();
                var takenEvents = 0;
                lock (_flushLock)
                {
                    while (_accepted.TryPeek(out var next) && (takenEvents == 0 || takenEvents + next.EventCount <= _options.MaxEventsPerInsert))
                    {
                        _accepted.Dequeue();
                        _acceptedEvents -= next.EventCount;
                        taken.Add(next);
                        takenEvents += next.EventCount;
                    }
                }

                if (taken.Count == 0)
                {
                    if (running.Count > 0)
                    {
                        if (!await SettleOldestAsync(running))
                        {
                            return; // stopping past its deadline: the journal keeps the rest for the next start
                        }

                        continue;
                    }

                    if (_stopping.IsCancellationRequested && AppendsDrained())
                    {
                        return;
                    }

                    await _flushSignal.WaitAsync(TimeSpan.FromMilliseconds(200));
                    continue;
                }

                // Prepared here, once, from the batch as sent (the request only decoded it to validate): a batch as sent takes
                // about 150 bytes per event, its prepared events tens of times that, and tens of thousands of them may wait.
                // Each record's events go into the store's batch as soon as they are prepared (on ClickHouse, encoded rows in
                // pooled buffers): only one record's event objects are alive at a time, not an insert's (docs/benchmarks.md, "intake13").
                // On a thread of its own, not the pool's: preparing thousands of events is tens of milliseconds of CPU in one go,
                // and on a 2-core server a pool thread busy with it is one fewer to continue the requests whose fsync has just
                // ended (their 202s would wait in the pool's queue behind it).
                var (events, preparedRecords) = await Task.Factory.StartNew(() => PrepareAllAsync(taken, takenEvents), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
                if (preparedRecords < taken.Count)
                {
                    // The insert reached MaxBytesPerInsert: the records not prepared go back to the head of the queue, in
                    // their order, and start the next insert.
                    var returned = taken.GetRange(preparedRecords, taken.Count - preparedRecords);
                    taken.RemoveRange(preparedRecords, returned.Count);
                    var returnedEvents = returned.Sum(r => r.EventCount);
                    takenEvents -= returnedEvents;
                    lock (_flushLock)
                    {
                        var behind = _accepted.ToArray();
                        _accepted.Clear();
                        foreach (var record in returned.Concat(behind))
                        {
                            _accepted.Enqueue(record);
                        }

                        _acceptedEvents += returnedEvents;
                    }
                }

                if (events.Count > 0 && events.EncodedBytes > 0)
                {
                    _encodedBytesPerEvent = Math.Max(1, events.EncodedBytes / events.Count);
                }

                // Settled first: what has ended, then the oldest while every slot is taken, while this insert is small (a light
                // flow goes one insert at a time, each carrying all that gathered), or while it carries an id under way.
                while (running.Count > 0
                    && (running.Peek().Stored.IsCompleted
                        || running.Count >= _options.MaxConcurrentInserts
                        || (takenEvents < _options.MaxEventsPerInsert / 2 && events.EncodedBytes < _options.MaxBytesPerInsert / 2)
                        || Overlaps(events)))
                {
                    if (!await SettleOldestAsync(running))
                    {
                        return;
                    }
                }

                await WaitBetweenInsertsAsync(lastStart);
                lastStart = _time.GetTimestamp();
                for (var i = 0; i < events.Count; i++)
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(_underWay, events.IdAt(i), out _)++;
                }

                running.Enqueue(new RunningInsert(events.Count == 0 ? Task.FromResult(true) : InsertAsync(events), events, takenEvents, taken[^1].Sequence));
            }
        }
        catch (Exception exception)
        {
            // A bug or a broken disk: stop flushing (what is journaled stays for the next start) rather than loop.
            LogFlusherFailed(_logger, exception);
        }
    }

    /// <summary>
    /// A light flow waits (up to <see cref="IngestJournalOptions.InsertLinger"/> from its oldest batch's fsync) for more to
    /// join its insert: fewer, larger inserts make fewer parts for ClickHouse to merge. Only the batches as sent wait; nothing
    /// is prepared meanwhile. It goes at once when half an insert (or half the journal's room) is waiting, and at a stop.
    /// </summary>
    private async Task LingerAsync()
    {
        var enough = Math.Max(1, Math.Min(_options.MaxEventsPerInsert, _options.MaxPendingEvents) / 2);
        while (!_stopping.IsCancellationRequested)
        {
            TimeSpan left;
            lock (_flushLock)
            {
                if (!_accepted.TryPeek(out var oldest) || _acceptedEvents >= enough || IsHalfAnInsert(_acceptedEvents))
                {
                    return;
                }

                left = _options.InsertLinger - _time.GetElapsedTime(oldest.JournaledAt);
            }

            if (left <= TimeSpan.Zero)
            {
                return;
            }

            // Woken by each append (to see whether enough has come) and by a stop.
            await _flushSignal.WaitAsync(left);
        }
    }

    /// <summary>
    /// Whether this many events make at least half an insert: half of <see cref="IngestJournalOptions.MaxEventsPerInsert"/>,
    /// or half of <see cref="IngestJournalOptions.MaxBytesPerInsert"/> at the bytes an event took in the latest insert.
    /// </summary>
    private bool IsHalfAnInsert(long events) =>
        events >= _options.MaxEventsPerInsert / 2
        || (_encodedBytesPerEvent > 0 && events * _encodedBytesPerEvent >= _options.MaxBytesPerInsert / 2);

    private long WaitingEvents()
    {
        lock (_flushLock)
        {
            return _acceptedEvents;
        }
    }

    /// <summary>
    /// The taken records' events in one batch, up to <see cref="IngestJournalOptions.MaxBytesPerInsert"/> of encoded rows: the
    /// record that reaches it is the last prepared. Returns the batch and how many of the records (from the first) it holds.
    /// </summary>
    private async Task<(EventBatch Batch, int Records)> PrepareAllAsync(List<Accepted> taken, int takenEvents)
    {
        var batch = _store.CreateBatch(takenEvents);

        // One grouping cache for the insert: the same failure in many of its batches is grouped once.
        var grouping = new GroupingCache();
        var records = 0;
        while (records < taken.Count && (records == 0 || batch.EncodedBytes < _options.MaxBytesPerInsert))
        {
            var accepted = taken[records++];
            await AddPreparedAsync(batch, accepted.Sequence, accepted.Payload.Bytes, grouping);
        }

        return (batch, records);
    }

    /// <summary>A record's events, prepared and added to the insert's batch; skipped (counted, logged) when they no longer validate.</summary>
    private async Task AddPreparedAsync(EventBatch batch, long sequence, byte[] payload, GroupingCache grouping)
    {
        if (Prepare(sequence, payload, grouping) is { } events)
        {
            await AddAsync(batch, sequence, events);
        }
    }

    private async Task<bool> AddAsync(EventBatch batch, long sequence, List<ErrorEvent> events)
    {
        try
        {
            await batch.AddAsync(events);
            return true;
        }
        catch (Exception exception)
        {
            // The store could not hold an event it was given (a bug, as in Prepare): counted and logged rather than stopping
            // the flusher with this record at the head of the journal for good.
            Interlocked.Increment(ref _skippedRecords);
            LogReplaySkipped(_logger, sequence, exception.Message);
            return false;
        }
    }

    /// <summary>Waits for the oldest insert under way; once stored, its events are no longer pending and the checkpoint moves past its records.</summary>
    private async Task<bool> SettleOldestAsync(Queue<RunningInsert> running)
    {
        var oldest = running.Peek();
        var stored = await oldest.Stored;
        running.Dequeue();
        for (var i = 0; i < oldest.Events.Count; i++)
        {
            var id = oldest.Events.IdAt(i);
            ref var count = ref CollectionsMarshal.GetValueRefOrNullRef(_underWay, id);
            if (!Unsafe.IsNullRef(ref count) && --count == 0)
            {
                _underWay.Remove(id);
            }
        }

        // Its insert has ended (stored, or given up at a stop): the batch's buffers go back.
        oldest.Events.Dispose();

        Interlocked.Add(ref _pendingEvents, -oldest.JournaledEvents);
        if (!stored)
        {
            return false;
        }

        try
        {
            _files!.Commit(oldest.LastSequence);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The store has these records; only the note of it could not be written (a full or read-only disk). Flushing goes
            // on, and the next insert's commit tries again: stopping here would leave ingest answering 503 until a restart.
            LogCommitFailed(_logger, oldest.LastSequence, exception);
        }

        return true;
    }

    private bool Overlaps(EventBatch events)
    {
        for (var i = 0; i < events.Count; i++)
        {
            if (_underWay.ContainsKey(events.IdAt(i)))
            {
                return true;
            }
        }

        return false;
    }

    private async Task WaitBetweenInsertsAsync(long lastStart)
    {
        var wait = _options.MinTimeBetweenInserts - _time.GetElapsedTime(lastStart);
        if (wait > TimeSpan.Zero && !_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(wait, _time, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                // stopping: flush what is left now
            }
        }
    }

    private bool AppendsDrained()
    {
        lock (_appendLock)
        {
            if (_appends.Count > 0 || !_appendsClosed || _appender?.IsAlive == true)
            {
                return false;
            }
        }

        lock (_flushLock)
        {
            return _accepted.Count == 0;
        }
    }

    /// <summary>The records found after the checkpoint at start, prepared again from their bytes and inserted in order, before anything new.</summary>
    private async Task ReplayAsync()
    {
        if (_backlog.Count == 0)
        {
            return;
        }

        var events = _store.CreateBatch(_options.MaxEventsPerInsert);
        var grouping = new GroupingCache();
        try
        {
            long lastSequence = 0, records = 0, chunkRecords = 0;
            foreach (var location in _backlog)
            {
                var prepared = PrepareAgain(location, grouping);
                if (prepared is not null && events.Count > 0 && (events.Count + prepared.Count > _options.MaxEventsPerInsert || events.EncodedBytes >= _options.MaxBytesPerInsert))
                {
                    if (!await InsertAsync(events))
                    {
                        return;
                    }

                    _files!.Commit(lastSequence);
                    Interlocked.Add(ref _replayedRecords, chunkRecords);
                    records += chunkRecords;
                    chunkRecords = 0;
                    events.Dispose();
                    events = _store.CreateBatch(_options.MaxEventsPerInsert);
                    grouping = new GroupingCache();
                }

                lastSequence = location.Sequence;
                if (prepared is not null && await AddAsync(events, location.Sequence, prepared))
                {
                    chunkRecords++;
                }
            }

            if (events.Count > 0 && !await InsertAsync(events))
            {
                return;
            }

            _files!.Commit(lastSequence);
            Interlocked.Add(ref _replayedRecords, chunkRecords);
            records += chunkRecords;
            LogReplayed(_logger, records, _backlog.Count - records);
            _backlog = [];
        }
        finally
        {
            events.Dispose();
        }
    }

    private List<ErrorEvent>? PrepareAgain(JournalRecordLocation location, GroupingCache grouping)
    {
        byte[] payload;
        try
        {
            payload = JournalFiles.ReadPayload(location);
        }
        catch (IOException exception)
        {
            Interlocked.Increment(ref _skippedRecords);
            LogReplaySkipped(_logger, location.Sequence, exception.Message);
            return null;
        }

        return Prepare(location.Sequence, payload, grouping);
    }

    /// <summary>The events of a journaled batch, prepared from its bytes; null (counted, logged) when they no longer validate.</summary>
    private List<ErrorEvent>? Prepare(long sequence, byte[] payload, GroupingCache grouping)
    {
        try
        {
            var (projectId, receivedAt, batchId, gzip, body) = JournalPayload.Read(payload);
            if (!gzip)
            {
                return [.. _preparer.Prepare(projectId, body, receivedAt, grouping, out _, batchId)];
            }

            // Prepared events keep nothing of the bytes they came from: the pooled buffer goes back once they are made.
            using var inflated = RequestBody.Gunzip(body, _limits.MaxDecompressedBytes);
            return [.. _preparer.Prepare(projectId, inflated.Memory, receivedAt, grouping, out _, batchId)];
        }
        catch (Exception exception)
        {
            // It passed validation when it came; a limit changed since (or the bytes did). The request only decoded it, so a
            // failure in scrubbing, grouping or normalizing (a bug: none refuses an event) also ends here rather than stopping
            // the flusher with the batch at the head of the journal for good. Counted, never retried.
            Interlocked.Increment(ref _skippedRecords);
            LogReplaySkipped(_logger, sequence, exception.Message);
            return null;
        }
    }

    /// <summary>One insert, tried until it succeeds (back-off between tries); false only when a stop's deadline ends the tries.</summary>
    private async Task<bool> InsertAsync(EventBatch events)
    {
        var delay = FirstRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            var deadline = _stopDeadline.Token;
            try
            {
                await events.InsertAsync(deadline);
                Interlocked.Increment(ref _inserts);
                return true;
            }
            catch (Exception exception) when (!deadline.IsCancellationRequested)
            {
                Interlocked.Increment(ref _failedInserts);
                if ((attempt & (attempt - 1)) == 0)
                {
                    LogInsertFailed(_logger, events.Count, attempt, exception);
                }
            }
            catch (Exception) when (deadline.IsCancellationRequested)
            {
                return false;
            }

            try
            {
                await Task.Delay(delay, _time, _stopDeadline.Token);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LastRetryDelay.Ticks));
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!IsActive || _files is null)
        {
            return;
        }

        // The server has stopped taking requests; what was accepted goes to the store now, within a bound.
        _stopDeadline.CancelAfter(_options.StopFlushTimeout);
        await using var hostDeadline = cancellationToken.Register(_stopDeadline.Cancel);
        lock (_appendLock)
        {
            _appendsClosed = true;
            Monitor.PulseAll(_appendLock);
        }

        _appender?.Join();
        await _stopping.CancelAsync();
        _flushSignal.Release();
        await _flusher;

        _files.CloseAndDeleteFlushed();
        if (_files.LastSequence > _files.Checkpoint)
        {
            LogLeftInJournal(_logger, _files.LastSequence - _files.Checkpoint);
        }
    }

    public void Dispose()
    {
        _files?.Dispose();
        _stopDeadline.Dispose();
        _stopping.Dispose();
        _flushSignal.Dispose();
    }

    [LoggerMessage(1, LogLevel.Information, "Ingest journal at {Directory}: {Records} batches to replay into the store, {Bytes} bytes on disk")]
    private static partial void LogOpened(ILogger logger, string directory, int records, long bytes);

    [LoggerMessage(2, LogLevel.Information, "Ingest journal: cut off {Bytes} bytes at the end of a segment (a write that never completed, so never acknowledged)")]
    private static partial void LogTornTail(ILogger logger, long bytes);

    [LoggerMessage(3, LogLevel.Warning, "Ingest journal: skipped {Regions} damaged regions ({Bytes} bytes) inside its segments; the batches in them are lost")]
    private static partial void LogCorrupt(ILogger logger, int regions, long bytes);

    [LoggerMessage(4, LogLevel.Information, "Ingest journal: replayed {Records} batches into the store, skipped {Skipped}")]
    private static partial void LogReplayed(ILogger logger, long records, long skipped);

    [LoggerMessage(5, LogLevel.Warning, "Ingest journal: skipped batch {Sequence} on replay: {Reason}")]
    private static partial void LogReplaySkipped(ILogger logger, long sequence, string reason);

    [LoggerMessage(6, LogLevel.Warning, "Ingest journal: inserting {Count} events failed (try {Attempt}); retrying with back-off, requests are still accepted within the journal's bounds")]
    private static partial void LogInsertFailed(ILogger logger, int count, int attempt, Exception exception);

    [LoggerMessage(7, LogLevel.Error, "Ingest journal: writing {Count} batches failed; their requests are answered 503 so clients retry")]
    private static partial void LogAppendFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(8, LogLevel.Error, "Ingest journal: the flusher stopped; what is journaled is replayed at the next start")]
    private static partial void LogFlusherFailed(ILogger logger, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "Ingest journal: could not record that the store has every batch up to {Sequence} (checkpoint, stored segments deleted); flushing goes on and tries again with the next insert")]
    private static partial void LogCommitFailed(ILogger logger, long sequence, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Ingest journal: stopped with {Records} batches not yet in the store; they are replayed at the next start")]
    private static partial void LogLeftInJournal(ILogger logger, long records);

    [LoggerMessage(10, LogLevel.Information, "ErrorHub:Ingest:Journal:Enabled is ignored for the '{Kind}' store: its own commit is a local fsync, so ingest answers once it is stored")]
    private static partial void LogIgnored(ILogger logger, string kind);

    [LoggerMessage(12, LogLevel.Information, "Ingest journal: {Records} batches to replay wait until the store has made its tables")]
    private static partial void LogWaitingForSchema(ILogger logger, int records);

    private sealed record PendingAppend(JournalPayload Payload, int EventCount, TaskCompletionSource Completion);

    /// <summary>An insert under way: its events (for the overlap check), how many journaled events it settles, and the last record it carries.</summary>
    private sealed record RunningInsert(Task<bool> Stored, EventBatch Events, int JournaledEvents, long LastSequence);

    private sealed record Accepted(long Sequence, JournalPayload Payload, int EventCount, long JournaledAt);
}
