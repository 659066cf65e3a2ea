using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Ingestion.Writing;

/// <summary>
/// Group commit: concurrent requests hand their events to one writer loop that stores whatever has
/// gathered in one insert, then answers each request. A request is answered 202 only after its events
/// are committed, so nothing acknowledged can be lost; under load, inserts grow instead of multiplying,
/// which is what ClickHouse wants. Two inserts may run at once (<see cref="MaxConcurrentInserts"/>), never
/// two carrying the same event id. The number of waiting events is bounded: past it, callers get 503.
/// </summary>
internal sealed partial class StoreWriter : BackgroundService
{
    internal const int MaxPendingEvents = 50_000;
    internal const int MaxEventsPerInsert = 10_000;

    /// <summary>
    /// Inserts under way at once: while one is at the store, the next gathers requests and is encoded, so
    /// the store is never idle waiting for ingest, nor ingest for the store. More would only make inserts smaller.
    /// </summary>
    internal const int MaxConcurrentInserts = 2;

    /// <summary>
    /// While an insert runs, a second one starts only once this many events wait; until then they wait for the running
    /// insert to end and go in together. Every insert costs ClickHouse a fixed share (a part in the events table and in each
    /// view: about 80 ms of its CPU on our 2-core machine, as much as 800 more rows would), so two small inserts at once
    /// cost more than one of both; the second slot is for a backlog, which it halves.
    /// </summary>
    internal const int MinEventsForSecondInsert = 1_000;

    /// <summary>
    /// The longest an insert waits, after the previous one ended, for the clients that insert just answered to send
    /// again (see <see cref="GatherAsync"/>); never more than <see cref="GatherShareOfLastInsert"/> of that insert's time.
    /// </summary>
    internal static readonly TimeSpan MaxGatherWait = TimeSpan.FromMilliseconds(20);

    /// <summary>The gather wait's share of the previous insert's wall time: the wait costs a request at most this much more latency.</summary>
    internal const double GatherShareOfLastInsert = 0.25;

    /// <summary>
    /// Inserts that start without a gather wait after one in which no client came: requests then arrive on their own
    /// schedule, not in answer to the last insert, and waiting for them only adds latency. (Under load the answered clients
    /// come back one by one, some after the wait: one of them coming is enough to keep waiting.)
    /// </summary>
    internal const int InsertsWithoutGatherAfterAMiss = 8;

    private readonly Channel<PendingWrite> _pending = Channel.CreateUnbounded<PendingWrite>(new() { SingleReader = true });
    private readonly IEventWriter _store;
    private readonly ILogger<StoreWriter> _logger;
    private readonly StoreOutageLog _outageLog;
    private readonly InFlightEvents _inFlight = new();
    private long _pendingEvents;
    private long _waitingEvents;
    private long _failedInserts;
    private TaskCompletionSource _backlog = NewBacklogSignal();
    private long _backlogThreshold = MinEventsForSecondInsert;
    private long _lastInsertEvents;
    private long _waitingWhenLastInsertEnded;
    private int _insertsWithoutGather;
    private long _lastInsertEndedAt;
    private long _lastInsertMilliseconds;

    private readonly TimeSpan _maxGatherWait;
    private readonly double _gatherShareOfLastInsert;

    public StoreWriter(IEventWriter store, ILogger<StoreWriter> logger)
        : this(store, logger, TimeProvider.System)
    {
    }

    public StoreWriter(IEventWriter store, ILogger<StoreWriter> logger, TimeProvider timeProvider)
        : this(store, logger, MaxGatherWait, GatherShareOfLastInsert, timeProvider)
    {
    }

    /// <summary>For tests: a gather wait other than the defaults.</summary>
    internal StoreWriter(IEventWriter store, ILogger<StoreWriter> logger, TimeSpan maxGatherWait, double gatherShareOfLastInsert, TimeProvider? timeProvider = null)
    {
        _store = store;
        _logger = logger;
        _outageLog = new StoreOutageLog(logger, timeProvider ?? TimeProvider.System);
        _maxGatherWait = maxGatherWait;
        _gatherShareOfLastInsert = gatherShareOfLastInsert;
    }

    /// <summary>Inserts the store refused or failed since start.</summary>
    public long FailedInserts => Interlocked.Read(ref _failedInserts);

    /// <summary>Events handed to the writer and not yet committed or failed.</summary>
    public long PendingEvents => Interlocked.Read(ref _pendingEvents);

    /// <summary>Stores the events; completes when they are committed. Throws <see cref="StoreBusyException"/> when too much is waiting.</summary>
    public Task WriteAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken)
    {
        if (Interlocked.Add(ref _pendingEvents, events.Count) > MaxPendingEvents)
        {
            Interlocked.Add(ref _pendingEvents, -events.Count);
            throw new StoreBusyException();
        }

        var write = new PendingWrite(events, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_pending.Writer.TryWrite(write))
        {
            Interlocked.Add(ref _pendingEvents, -events.Count);
            throw new StoreBusyException();
        }

        if (Interlocked.Add(ref _waitingEvents, events.Count) >= Volatile.Read(ref _backlogThreshold))
        {
            Volatile.Read(ref _backlog).TrySetResult();
        }

        return write.Completion.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _pending.Reader;
        var running = new List<Task>(MaxConcurrentInserts);

        // Not stoppingToken: the loop ends when StopAsync completes the channel and the last writes are stored.
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            // While every insert slot is taken, requests keep arriving: the next insert gathers them all.
            while (running.Count >= MaxConcurrentInserts)
            {
                running.Remove(await Task.WhenAny(running));
            }

            var next = new NextInsert();

            // A free second slot waits for a backlog (MinEventsForSecondInsert) or for the running insert to end; meanwhile
            // what arrives is looked up (PrepareAheadAsync), so that the next insert only writes once the running one ended.
            if (running.Count > 0 && Interlocked.Read(ref _waitingEvents) < MinEventsForSecondInsert)
            {
                await PrepareWhileRunningAsync(reader, next, Task.WhenAny(running));
                running.RemoveAll(task => task.IsCompleted);
            }

            if (running.Count == 0)
            {
                await GatherAsync();
            }

            Take(reader, next);
            Interlocked.Add(ref _waitingEvents, -next.Events.Count);

            if (next.FollowsRunning)
            {
                // An event id that a running insert also carries (a client's retry while its first try is still
                // being stored) goes in after it: the store then sees the id as stored and counts the event once.
                await Task.WhenAll(running);
                running.Clear();
            }

            _inFlight.Add(next.Events);
            running.Add(InsertAsync(next));
        }

        await Task.WhenAll(running);
    }

    /// <summary>
    /// Until the running insert ends or a backlog builds (<see cref="MinEventsForSecondInsert"/>): each request that arrives is taken
    /// and looked up at once (<see cref="PrepareAheadAsync"/>), so that the next insert only writes when the running one ended.
    /// </summary>
    private async Task PrepareWhileRunningAsync(ChannelReader<PendingWrite> reader, NextInsert next, Task anyEnded)
    {
        try
        {
            while (!anyEnded.IsCompleted)
            {
                if (next.CanPrepareAhead && Take(reader, next) > 0)
                {
                    await PrepareAheadAsync(next);
                    continue;
                }

                // Taken events still count as waiting: what was seen, plus one more event, wakes this loop.
                var seen = Interlocked.Read(ref _waitingEvents);
                if (seen >= MinEventsForSecondInsert)
                {
                    return;
                }

                var signal = NewBacklogSignal();
                Volatile.Write(ref _backlog, signal);
                Volatile.Write(ref _backlogThreshold, next.CanPrepareAhead ? seen + 1 : MinEventsForSecondInsert);
                if (Interlocked.Read(ref _waitingEvents) == seen)
                {
                    await Task.WhenAny(anyEnded, signal.Task);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _backlogThreshold, MinEventsForSecondInsert);
        }
    }

    /// <summary>
    /// Moves waiting requests into <paramref name="next"/> (up to <see cref="MaxEventsPerInsert"/>); returns the events taken.
    /// Their events are looked up later (<see cref="NextInsert.Unprepared"/>). Events still counted as waiting until the insert starts.
    /// </summary>
    private int Take(ChannelReader<PendingWrite> reader, NextInsert next)
    {
        var taken = 0;
        while (next.Events.Count < MaxEventsPerInsert && reader.TryRead(out var write))
        {
            next.Writes.Add(write);
            next.Events.AddRange(write.Events);
            next.Unprepared.AddRange(write.Events);
            next.FollowsRunning |= _inFlight.Overlaps(write.Events);
            taken += write.Events.Count;
        }

        return taken;
    }

    /// <summary>
    /// The store's look-ups for what was taken, while the running insert is still at the store. Only for events that no running
    /// insert carries (the look-up cannot see those yet; see <see cref="NextInsert.FollowsRunning"/>); what fails here is
    /// looked up again when the insert starts, where a failure is answered.
    /// </summary>
    private async Task PrepareAheadAsync(NextInsert next)
    {
        if (next.FollowsRunning || next.Unprepared.Count == 0)
        {
            return;
        }

        var events = next.Unprepared.ToList();
        try
        {
            var prepared = await _store.PrepareInsertAsync(events, CancellationToken.None);
            next.Prepared.AddRange(prepared);
            next.Unprepared.RemoveRange(0, events.Count);
        }
        catch (Exception exception)
        {
            // During an outage every look-up fails as every insert does: the outage log already speaks for both.
            if (!_outageLog.IsFailing)
            {
                LogPrepareAheadFailed(_logger, events.Count, exception);
            }
        }
    }

    /// <summary>
    /// Under steady load the clients an insert answered send their next batches a few milliseconds later, just after the
    /// next insert started without them: inserts then alternate between two halves of the clients, each carrying half of
    /// what could go in one. Every insert costs ClickHouse a fixed share (see <see cref="MinEventsForSecondInsert"/>), so an
    /// insert that starts right after another one ended waits a little for as many events as that one carried to join
    /// what already waits: at most <see cref="MaxGatherWait"/>, and never more than <see cref="GatherShareOfLastInsert"/>
    /// of the last insert's time, so that a request's latency grows by a bounded share. A writer that was idle starts at once,
    /// and so do the next <see cref="InsertsWithoutGatherAfterAMiss"/> inserts after a wait in which no request came.
    /// </summary>
    private async Task GatherAsync()
    {
        var sinceLastInsert = Environment.TickCount64 - Volatile.Read(ref _lastInsertEndedAt);
        var wait = Math.Min(_maxGatherWait.TotalMilliseconds, Volatile.Read(ref _lastInsertMilliseconds) * _gatherShareOfLastInsert) - sinceLastInsert;
        var waiting = Interlocked.Read(ref _waitingEvents);
        var target = Math.Min(MaxEventsPerInsert, Volatile.Read(ref _waitingWhenLastInsertEnded) + Volatile.Read(ref _lastInsertEvents));
        if (wait < 1 || waiting >= target)
        {
            return;
        }

        if (_insertsWithoutGather > 0)
        {
            _insertsWithoutGather--;
            return;
        }

        var gathered = NewBacklogSignal();
        Volatile.Write(ref _backlog, gathered);
        Volatile.Write(ref _backlogThreshold, target);
        try
        {
            if (Interlocked.Read(ref _waitingEvents) < target)
            {
                await Task.WhenAny(gathered.Task, Task.Delay(TimeSpan.FromMilliseconds(wait)));
            }

            if (Interlocked.Read(ref _waitingEvents) == waiting)
            {
                _insertsWithoutGather = InsertsWithoutGatherAfterAMiss;
            }
        }
        finally
        {
            Volatile.Write(ref _backlogThreshold, MinEventsForSecondInsert);
        }
    }

    /// <summary>One insert of what several requests sent; answers each of them when it is committed or failed. Never throws.</summary>
    private async Task InsertAsync(NextInsert next)
    {
        var started = Environment.TickCount64;
        var events = next.Events;
        try
        {
            IReadOnlyList<ErrorEvent> prepared = next.Prepared;
            if (next.Unprepared.Count > 0)
            {
                prepared = [.. next.Prepared, .. await _store.PrepareInsertAsync(next.Unprepared, CancellationToken.None)];
            }

            await _store.InsertPreparedAsync(prepared, CancellationToken.None);
            Ended(started, events.Count);
            _outageLog.Succeeded();
            foreach (var write in next.Writes)
            {
                write.Completion.TrySetResult();
            }
        }
        catch (Exception exception)
        {
            Ended(started, events.Count);
            Interlocked.Increment(ref _failedInserts);
            _outageLog.Failed(events.Count, exception);
            foreach (var write in next.Writes)
            {
                write.Completion.TrySetException(new StoreUnavailableException(exception));
            }
        }
        finally
        {
            _inFlight.Remove(events);
            Interlocked.Add(ref _pendingEvents, -events.Count);
        }
    }

    /// <summary>What <see cref="GatherAsync"/> goes by, noted before the insert's requests are answered (and send again).</summary>
    private void Ended(long started, int events)
    {
        var ended = Environment.TickCount64;
        Volatile.Write(ref _lastInsertEvents, events);
        Volatile.Write(ref _lastInsertMilliseconds, ended - started);
        Volatile.Write(ref _waitingWhenLastInsertEnded, Interlocked.Read(ref _waitingEvents));
        Volatile.Write(ref _lastInsertEndedAt, ended);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Requests still in flight were promised an answer: let the loop drain what it has before stopping.
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private static TaskCompletionSource NewBacklogSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(2, LogLevel.Warning, "Looking up {Count} events ahead of their insert failed; they are looked up again when it starts")]
    private static partial void LogPrepareAheadFailed(ILogger logger, int count, Exception exception);

    private sealed record PendingWrite(IReadOnlyList<ErrorEvent> Events, TaskCompletionSource Completion);

    /// <summary>The requests the next insert carries, gathered while the running one is at the store, and what of them is looked up already.</summary>
    private sealed class NextInsert
    {
        public List<PendingWrite> Writes { get; } = [];

        /// <summary>Every event of <see cref="Writes"/>, as sent.</summary>
        public List<ErrorEvent> Events { get; } = [];

        /// <summary>What the store's look-ups returned for the events looked up ahead: what is to be written of them.</summary>
        public List<ErrorEvent> Prepared { get; } = [];

        /// <summary>Events not looked up yet: that happens when the insert starts.</summary>
        public List<ErrorEvent> Unprepared { get; } = [];

        /// <summary>
        /// Some event id is also in a running insert: this insert starts after every running one ended, and looks its events up
        /// only then, when the store shows what those committed (a retry counts once, and if the first try failed, it is stored).
        /// </summary>
        public bool FollowsRunning { get; set; }

        public bool CanPrepareAhead => !FollowsRunning && Events.Count < MaxEventsPerInsert;
    }
}

/// <summary>The (project, event id) pairs of the inserts under way, counted (a batch may carry an id twice).</summary>
internal sealed class InFlightEvents
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(int ProjectId, Guid EventId), int> _counts = [];

    public bool Overlaps(IReadOnlyList<ErrorEvent> events)
    {
        lock (_lock)
        {
            if (_counts.Count == 0)
            {
                return false;
            }

            foreach (var e in events)
            {
                if (_counts.ContainsKey((e.ProjectId, e.EventId)))
                {
                    return true;
                }
            }

            return false;
        }
    }

    public void Add(List<ErrorEvent> events)
    {
        lock (_lock)
        {
            foreach (var e in events)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(_counts, (e.ProjectId, e.EventId), out _)++;
            }
        }
    }

    public void Remove(List<ErrorEvent> events)
    {
        lock (_lock)
        {
            foreach (var e in events)
            {
                ref var count = ref CollectionsMarshal.GetValueRefOrNullRef(_counts, (e.ProjectId, e.EventId));
                if (!Unsafe.IsNullRef(ref count) && --count == 0)
                {
                    _counts.Remove((e.ProjectId, e.EventId));
                }
            }
        }
    }
}

/// <summary>Too many events are waiting to be stored: the client should retry later.</summary>
internal sealed class StoreBusyException() : Exception("too many events are waiting to be stored");

/// <summary>The store refused or failed the write: the client should retry later.</summary>
internal sealed class StoreUnavailableException(Exception inner) : Exception("the store is unavailable", inner);
