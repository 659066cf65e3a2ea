using System.Collections.Concurrent;
using ErrorHub.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Ingestion.Quotas;

/// <summary>
/// Counts what ingest refused per project, hour and reason, and adds the counts to the store every
/// <see cref="FlushEvery"/> and when the host stops, so refusing a flood costs the store one write per
/// period, not one per refused request. Counts the store did not take are kept for the next try.
/// </summary>
internal sealed partial class ProjectDropCounts(IProjectStore store, TimeProvider timeProvider, ILogger<ProjectDropCounts> logger) : BackgroundService
{
    internal static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(10);
    // The timer's flush and the last one at stop never overlap. Not disposed: a host may dispose its services before
    // it stops them, and a SemaphoreSlim whose wait handle is never asked for holds nothing to release.
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly ConcurrentDictionary<(int ProjectId, DateTimeOffset Hour, string Reason), Counts> _pending = new();

    /// <summary>Ingest refused a batch of <paramref name="events"/> events.</summary>
    public void Add(int projectId, DropReason reason, int events) => Add(projectId, DropReasons.Name(reason), 1, events);

    /// <summary>An SDK reported events it dropped before sending (no batch reached the server for them).</summary>
    public void AddReportedBySdk(int projectId, string knownReason, long events) =>
        Add(projectId, SdkDropReasons.Stored(knownReason), 0, events);

    private void Add(int projectId, string reason, long batches, long events)
    {
        var counts = _pending.GetOrAdd((projectId, StartOfHour(timeProvider.GetUtcNow()), reason), static _ => new Counts());
        counts.Add(batches, events);
    }

    /// <summary>Adds what was counted so far to the store and subtracts it here once stored; what fails stays counted.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken);
        try
        {
            await FlushOnceAsync(cancellationToken);
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task FlushOnceAsync(CancellationToken cancellationToken)
    {
        var thisHour = StartOfHour(timeProvider.GetUtcNow());
        var taken = new List<(Counts Counts, ProjectDrops Drops)>();
        foreach (var (key, counts) in _pending)
        {
            var (batches, events) = (counts.Batches, counts.Events);
            if (batches == 0 && events == 0)
            {
                if (key.Hour < thisHour)
                {
                    _pending.TryRemove(new KeyValuePair<(int, DateTimeOffset, string), Counts>(key, counts));
                }

                continue;
            }

            taken.Add((counts, new ProjectDrops(key.ProjectId, key.Hour, key.Reason, batches, events)));
        }

        if (taken.Count == 0)
        {
            return;
        }

        try
        {
            await store.AddDropsAsync(taken.Select(t => t.Drops).ToList(), cancellationToken);
        }
        catch (Exception exception)
        {
            LogFlushFailed(logger, taken.Count, exception);
            return;
        }

        foreach (var (counts, drops) in taken)
        {
            counts.Add(-drops.Batches, -drops.Events); // what arrived meanwhile stays for the next flush
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushEvery, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    private static DateTimeOffset StartOfHour(DateTimeOffset time) => new(time.Year, time.Month, time.Day, time.Hour, 0, 0, TimeSpan.Zero);

    [LoggerMessage(1, LogLevel.Warning, "Could not store {Count} per-project drop counts; they are kept for the next try")]
    private static partial void LogFlushFailed(ILogger logger, int count, Exception exception);

    private sealed class Counts
    {
        private long _batches;
        private long _events;

        public long Batches => Interlocked.Read(ref _batches);

        public long Events => Interlocked.Read(ref _events);

        public void Add(long batches, long events)
        {
            Interlocked.Add(ref _batches, batches);
            Interlocked.Add(ref _events, events);
        }
    }
}
