using System.Net;
using ErrorHub.Storage.ClickHouse;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Storage;

/// <summary>
/// Creates missing tables before the host serves anything. When the store cannot be reached to do so (a ClickHouse server
/// still starting, containers started together, a cluster whose ZooKeeper is down or restarting while the tables do not
/// exist yet), the process starts all the same, not ready, and keeps trying in the background with back-off: start order
/// does not matter, and a store that comes up later makes it ready by itself (<see cref="StoreSchemaState"/>). A store
/// that answers and refuses the schema (a wrong password, an account that may not create tables) fails the start-up: no
/// retry would change that, and neither would it for a store migrated by a newer build or a cluster node without ZooKeeper
/// configured: met in the background, these stop the process too. Nor does it try for ever: after
/// <c>ErrorHub:Store:SchemaWaitLimit</c> it gives up and stops, and the host's run exits with code 1 and the reason
/// (<see cref="StoreSchemaState.StartFailure"/>), so a service manager shows a failed unit rather than one that waits
/// unseen. The log: the first failure with its exception, a line for each try saying when the next one comes and when the
/// process gives up, at most one warning a minute (<see cref="StoreOutageTracker"/>), one line when the tables exist and
/// one when the store is ready.
/// </summary>
internal sealed partial class StoreSchemaInitializer(
    IStoreSchema store,
    StoreSchemaState state,
    IOptions<StoreOptions> options,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<StoreSchemaInitializer> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LastRetryDelay = TimeSpan.FromSeconds(10);

    /// <summary>
    /// ClickHouse's errors of a busy or briefly sick server, which its HTTP interface answers with a plain 500: timeouts
    /// (159, 209), a network error between nodes (210), too many queries or connections (202, 203), the memory limit
    /// (241), a replica read-only while it has no ZooKeeper session (242), too many parts (252).
    /// </summary>
    private static readonly HashSet<int> PassingErrorCodes = [159, 202, 203, 209, 210, 241, 242, 252];

    private readonly CancellationTokenSource _stopping = new();
    private Task _background = Task.CompletedTask;
    private bool _disposed;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.EnsureSchemaOnStartup)
        {
            await RunDeferredNowAsync(cancellationToken);
            state.MarkReady();
            return;
        }

        try
        {
            await store.EnsureSchemaAsync(cancellationToken);
        }
        catch (Exception exception) when (IsUnreachable(exception) && !cancellationToken.IsCancellationRequested)
        {
            var tracker = new StoreOutageTracker(timeProvider);
            tracker.Failed();
            state.NotReadyBecause(Reason(exception));
            LogWaiting(logger, store.Kind, options.Value.SchemaWaitLimit, exception);
            var giveUpAt = timeProvider.GetUtcNow() + options.Value.SchemaWaitLimit;
            _background = Task.Run(() => KeepTryingAsync(tracker, giveUpAt, _stopping.Token), CancellationToken.None);
            return;
        }

        StoreLog.StoreReady(logger, store.Kind);
        await RunDeferredNowAsync(cancellationToken);
        state.MarkReady();
    }

    /// <summary>
    /// The tables exist at start: work deferred until then (by a hosted service that started before this one) runs now,
    /// and fails the start-up as it would have without waiting.
    /// </summary>
    private async Task RunDeferredNowAsync(CancellationToken cancellationToken)
    {
        foreach (var step in state.Created())
        {
            await step.Run(cancellationToken);
        }
    }

    /// <summary>
    /// The store could not be asked, or could not take the schema for now: no connection, a timeout, no ZooKeeper session,
    /// an answer that broke or made no sense after its 200 (a sick server, a middlebox), a proxy's own error without
    /// ClickHouse's code, or one of ClickHouse's errors of the moment (<see cref="PassingErrorCodes"/>). A store that
    /// answered with a refusal of its own (a wrong password, no right to create tables, an unknown cluster) is not retried.
    /// </summary>
    private static bool IsUnreachable(Exception exception) => exception switch
    {
        ClickHouseException clickHouse => clickHouse.StatusCode is null || clickHouse.NoZooKeeperSession
            || clickHouse.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout or HttpStatusCode.TooManyRequests
            || (clickHouse.ErrorCode is null && clickHouse.StatusCode is { } status && (int)status >= 500)
            || (clickHouse.ErrorCode is { } code && PassingErrorCodes.Contains(code)),
        HttpRequestException or TimeoutException => true,
        OperationCanceledException => true, // the HTTP client's own timeout
        _ => false,
    };

    private string Reason(Exception exception) =>
        $"its tables do not exist yet and the {store.Kind} store cannot create them now (retrying in the background): {exception.Message}";

    /// <summary>What no further try would change: the process stops (exit code 1) instead of waiting.</summary>
    private static bool NeedsOperator(Exception exception) =>
        exception is StoreSchemaRefusedException || exception is ClickHouseException { NoZooKeeperConfigured: true };

    private async Task KeepTryingAsync(StoreOutageTracker tracker, DateTimeOffset giveUpAt, CancellationToken stopping)
    {
        try
        {
            var backOff = FirstRetryDelay;
            var delay = Shorter(backOff, giveUpAt - timeProvider.GetUtcNow());
            for (var attempt = 2; ; attempt++)
            {
                await Task.Delay(delay, timeProvider, stopping);
                backOff = TimeSpan.FromTicks(Math.Min(backOff.Ticks * 2, LastRetryDelay.Ticks));
                try
                {
                    await store.EnsureSchemaAsync(stopping);
                    break;
                }
                catch (Exception exception) when (!stopping.IsCancellationRequested)
                {
                    if (NeedsOperator(exception))
                    {
                        GiveUp(exception);
                        return;
                    }

                    // The last try is made at the limit, not one back-off before it.
                    var left = giveUpAt - timeProvider.GetUtcNow();
                    if (left <= TimeSpan.Zero)
                    {
                        GiveUp(new TimeoutException(
                            $"the {store.Kind} store could not create its tables within {options.Value.SchemaWaitLimit} (ErrorHub:Store:SchemaWaitLimit), " +
                            $"{attempt} tries: {exception.Message}",
                            exception));
                        return;
                    }

                    // Once it was unreachable, every other failure is retried: after ZooKeeper comes back, the first statements
                    // may still fail in ways of their own (a node's DDL queue catching up) that the next try does not meet.
                    delay = Shorter(backOff, left);
                    state.NotReadyBecause(Reason(exception));
                    LogTryFailed(logger, attempt, delay, giveUpAt, exception.Message);
                    var report = tracker.Failed();
                    if (report.Moment == StoreOutageMoment.StillFailing)
                    {
                        LogStillWaiting(logger, report.Duration, report.FailuresSinceSummary, exception.Message);
                    }
                }
            }

            var created = tracker.Succeeded();
            LogCreated(logger, store.Kind, created.Duration, created.Failures);
            StoreLog.StoreReady(logger, store.Kind);
            foreach (var step in state.Created())
            {
                state.NotReadyBecause($"its tables exist; {step.What} is under way");
                await RunUntilDoneAsync(step, stopping);
            }

            state.MarkReady();
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping before the store came: nothing was deferred that the next start does not do again.
        }
        catch (Exception exception)
        {
            // A bug: say so, rather than leave the process not ready without a word.
            LogFailed(logger, exception);
        }
    }

    private static TimeSpan Shorter(TimeSpan first, TimeSpan second) =>
        first < second ? first : second < TimeSpan.Zero ? TimeSpan.Zero : second;

    /// <summary>Stops the process: the host's run reports <paramref name="reason"/> and exits with code 1.</summary>
    private void GiveUp(Exception reason)
    {
        state.GaveUp(reason);
        LogGaveUp(logger, reason.Message);
        lifetime.StopApplication();
    }

    private async Task RunUntilDoneAsync(StoreSchemaState.DeferredStep step, CancellationToken stopping)
    {
        var tracker = new StoreOutageTracker(timeProvider);
        var delay = FirstRetryDelay;
        while (true)
        {
            try
            {
                await step.Run(stopping);
                return;
            }
            catch (Exception exception) when (!stopping.IsCancellationRequested)
            {
                switch (tracker.Failed().Moment)
                {
                    case StoreOutageMoment.Began:
                        LogStepFailed(logger, step.What, exception);
                        break;
                    case StoreOutageMoment.StillFailing:
                        LogStepStillFailing(logger, step.What, exception.Message);
                        break;
                }
            }

            await Task.Delay(delay, timeProvider, stopping);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LastRetryDelay.Ticks));
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed))
        {
            // Stopped after the services were disposed: Dispose already ended the background work, and the source is gone.
            return;
        }

        await _stopping.CancelAsync();
        try
        {
            await _background.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host stops without waiting longer: a try under way ends with the process.
        }
    }

    public void Dispose()
    {
        if (!Interlocked.Exchange(ref _disposed, true))
        {
            _stopping.Cancel();
            _stopping.Dispose();
        }
    }

    [LoggerMessage(1, LogLevel.Error,
        "The {Kind} store cannot create its tables now (not reachable yet, or a cluster without ZooKeeper): serving anyway, not ready " +
        "(/readyz and ingest answer 503) until it can; trying again in the background for up to {Limit} (ErrorHub:Store:SchemaWaitLimit), then stopping")]
    private static partial void LogWaiting(ILogger logger, string kind, TimeSpan limit, Exception exception);

    [LoggerMessage(7, LogLevel.Information, "Try {Attempt} to create the store's tables failed; next try in {Delay}, giving up at {GiveUpAt:u}: {Reason}")]
    private static partial void LogTryFailed(ILogger logger, int attempt, TimeSpan delay, DateTimeOffset giveUpAt, string reason);

    [LoggerMessage(8, LogLevel.Critical, "Giving up creating the store's tables; the process stops: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, string reason);

    [LoggerMessage(2, LogLevel.Warning, "Still waiting for the store to create its tables, since {Duration} ({Failures} tries in the last minute): {Reason}")]
    private static partial void LogStillWaiting(ILogger logger, TimeSpan duration, long failures, string reason);

    [LoggerMessage(3, LogLevel.Information, "The {Kind} store's tables exist now, after {Duration} and {Tries} failed tries")]
    private static partial void LogCreated(ILogger logger, string kind, TimeSpan duration, long tries);

    [LoggerMessage(4, LogLevel.Warning, "At start-up, {What} failed; trying again with back-off (the store is not ready until it is done)")]
    private static partial void LogStepFailed(ILogger logger, string what, Exception exception);

    [LoggerMessage(5, LogLevel.Warning, "At start-up, {What} still fails: {Reason}")]
    private static partial void LogStepStillFailing(ILogger logger, string what, string reason);

    [LoggerMessage(6, LogLevel.Critical, "Creating the store's tables in the background stopped; the process stays not ready until restarted")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
