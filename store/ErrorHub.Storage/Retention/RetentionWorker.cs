using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Storage.Retention;

/// <summary>
/// Deletes expired events on a schedule: a minute after the start, then every <see cref="RetentionOptions.Interval"/>.
/// Each project's cutoff is the start of today (UTC) minus its retention in days, so cutoffs move by whole days
/// (on ClickHouse, at most one delete mutation per project a day). A failed run is logged and the next one tries again.
/// While the store's tables do not exist yet (the store started before ClickHouse or ZooKeeper could make them), the runs
/// wait for them rather than log a failure each interval.
/// </summary>
internal sealed partial class RetentionWorker(
    IEventRetention retention,
    IProjectStore projects,
    IOptions<RetentionOptions> options,
    TimeProvider timeProvider,
    ILogger<RetentionWorker> logger,
    StoreSchemaState? schema = null) : BackgroundService
{
    internal static readonly TimeSpan FirstRunAfter = TimeSpan.FromMinutes(1);
    private readonly RetentionOptions _options = options.Value;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _firstRun;
    private PeriodicTimer? _timer;
    private int _disposed;

    /// <summary>Raised after each run with the number of events it deleted (-1 when it failed); tests wait on it.</summary>
    internal event Action<long>? RunCompleted;

    /// <summary>The cutoffs as of now: each project's own retention, else the default; deleted projects get the default.</summary>
    public async Task<RetentionPlan> PlanAsync(CancellationToken cancellationToken)
    {
        var today = timeProvider.GetUtcNow().UtcDateTime.Date;
        DateTimeOffset? CutoffFor(int days) => days > 0 ? new DateTimeOffset(today.AddDays(-days), TimeSpan.Zero) : null;

        var cutoffs = new Dictionary<int, DateTimeOffset?>();
        foreach (var project in await projects.GetProjectsAsync(cancellationToken))
        {
            var settings = await projects.GetSettingsAsync(project.Id, cancellationToken);
            cutoffs[project.Id] = CutoffFor(settings?.RetentionDays ?? _options.DefaultDays);
        }

        return new RetentionPlan(cutoffs, CutoffFor(_options.DefaultDays));
    }

    public async Task<long> RunOnceAsync(CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(cancellationToken);
        var deleted = await retention.DeleteExpiredAsync(plan, cancellationToken);
        if (deleted > 0)
        {
            LogDeleted(logger, deleted);
        }

        return deleted;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Enabled)
        {
            // The schedule starts now, not whenever the background task gets to run (.NET runs it on the thread pool).
            _firstRun = Task.Delay(FirstRunAfter, timeProvider, _stopping.Token);
            _timer = new PeriodicTimer(_options.Interval, timeProvider);
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // A host may dispose its services before it stops them (a test host torn down): then there is nothing left to stop.
        if (Volatile.Read(ref _disposed) == 0)
        {
            await _stopping.CancelAsync();
        }

        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stopping.Cancel();
            _timer?.Dispose();
            _stopping.Dispose();
        }

        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_firstRun is null || _timer is null)
        {
            return;
        }

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stopping.Token);
        try
        {
            await _firstRun;
            if (schema is { IsReady: false })
            {
                await schema.Ready.WaitAsync(stopping.Token);
            }

            do
            {
                long deleted;
                try
                {
                    deleted = await RunOnceAsync(stopping.Token);
                }
                catch (Exception exception) when (!stopping.IsCancellationRequested)
                {
                    LogFailed(logger, _options.Interval, exception);
                    deleted = -1;
                }

                RunCompleted?.Invoke(deleted);
            }
            while (await _timer.WaitForNextTickAsync(stopping.Token));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Retention deleted {Count} expired events")]
    private static partial void LogDeleted(ILogger logger, long count);

    [LoggerMessage(2, LogLevel.Warning, "Retention could not delete expired events; it tries again in {Interval}")]
    private static partial void LogFailed(ILogger logger, TimeSpan interval, Exception exception);
}
