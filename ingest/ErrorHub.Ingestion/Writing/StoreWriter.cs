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
/// which is what ClickHouse wants. The number of waiting events is bounded: past it, callers get 503.
/// </summary>
internal sealed partial class StoreWriter : BackgroundService
{
    internal const int MaxPendingEvents = 50_000;
    internal const int MaxEventsPerInsert = 10_000;

    private readonly Channel<PendingWrite> _pending = Channel.CreateUnbounded<PendingWrite>(new() { SingleReader = true });
    private readonly IEventWriter _store;
    private readonly ILogger<StoreWriter> _logger;
    private long _pendingEvents;
    private long _failedInserts;

    public StoreWriter(IEventWriter store, ILogger<StoreWriter> logger)
    {
        _store = store;
        _logger = logger;
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

        return write.Completion.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _pending.Reader;
        var writes = new List<PendingWrite>();
        var events = new List<ErrorEvent>();

        // Not stoppingToken: the loop ends when StopAsync completes the channel and the last writes are stored.
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            while (events.Count < MaxEventsPerInsert && reader.TryRead(out var write))
            {
                writes.Add(write);
                events.AddRange(write.Events);
            }

            try
            {
                await _store.InsertEventsAsync(events, CancellationToken.None);
                foreach (var write in writes)
                {
                    write.Completion.TrySetResult();
                }
            }
            catch (Exception exception)
            {
                Interlocked.Increment(ref _failedInserts);
                LogInsertFailed(_logger, events.Count, exception);
                foreach (var write in writes)
                {
                    write.Completion.TrySetException(new StoreUnavailableException(exception));
                }
            }
            finally
            {
                Interlocked.Add(ref _pendingEvents, -events.Count);
                writes.Clear();
                events.Clear();
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Requests still in flight were promised an answer: let the loop drain what it has before stopping.
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    [LoggerMessage(1, LogLevel.Error, "Storing {Count} events failed; their requests are answered 503 so clients retry")]
    private static partial void LogInsertFailed(ILogger logger, int count, Exception exception);

    private sealed record PendingWrite(IReadOnlyList<ErrorEvent> Events, TaskCompletionSource Completion);
}

/// <summary>Too many events are waiting to be stored: the client should retry later.</summary>
internal sealed class StoreBusyException() : Exception("too many events are waiting to be stored");

/// <summary>The store refused or failed the write: the client should retry later.</summary>
internal sealed class StoreUnavailableException(Exception inner) : Exception("the store is unavailable", inner);
