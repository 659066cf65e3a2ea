using System.Runtime.CompilerServices;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.Tests.Capture;

/// <summary>Failures outside any request, in worker and console apps, reach the real (loopback) ingest.</summary>
[Collection(ProcessWideEventsGroup.Name)]
public sealed class OutsideRequestsTests : IAsyncLifetime
{
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task A_crashing_BackgroundService_is_reported_with_its_exception_through_the_hosts_log()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLogging().AddErrorHub(o => o.Dsn = _ingest.Dsn());
        builder.Services.AddHostedService<FailingWorker>();
        builder.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
        using var host = builder.Build();

        await host.StartAsync();
        await _ingest.WaitForRequestsAsync(1);
        await host.StopAsync();

        var e = SingleEvent();
        e["level"].Should().Be("error");
        e["exceptions"].AsList()[0].AsMap()["type"].Should().Be("System.InvalidOperationException");
        e["exceptions"].AsList()[0].AsMap()["value"].Should().Be("the nightly import found no file");
    }

    [Fact]
    public async Task A_BackgroundService_failing_at_start_stops_the_host_and_is_at_ingest_once_when_Run_returns()
    {
        // The worker template as it is: the default BackgroundServiceExceptionBehavior (StopHost), ErrorHub added after.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddHostedService<WorkerFailingAtStart>();
        builder.Services.AddLogging().AddErrorHub(o => o.Dsn = _ingest.Dsn());
        using var host = builder.Build();

        // RunAsync returns (or throws) once the failure stopped the host; what Main does next is exit: no flush, no wait.
        try
        {
            await host.RunAsync();
        }
        catch (InvalidOperationException)
        {
            // Hosting may rethrow the failure; either way the process is about to end.
        }

        SingleEvent()["exceptions"].AsList()[0].AsMap()["value"].Should().Be("the worker's queue name is empty");
    }

    [Fact]
    public async Task A_hosted_service_whose_StartAsync_fails_is_reported_once_and_is_at_ingest_when_Run_throws()
    {
        // Registered before ErrorHub, so ErrorHub's own hosted services never start: the report may not depend on them.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddHostedService<FailingToStart>();
        builder.Services.AddLogging().AddErrorHub(o => o.Dsn = _ingest.Dsn());
        using var host = builder.Build();

        var run = () => host.RunAsync();

        await run.Should().ThrowAsync<InvalidOperationException>().WithMessage("the cache server refused the connection");
        SingleEvent()["exceptions"].AsList()[0].AsMap()["value"].Should().Be("the cache server refused the connection");
    }

    [Fact]
    public async Task A_faulted_task_nobody_awaited_is_reported_when_the_runtime_finds_it()
    {
        using var host = await ReportingHost.StartAsync(_ingest.Dsn());

        ForgetAFaultedTask();
        await CollectUntilReportedAsync(host.Services.GetRequiredService<IErrorHubClient>(), "fire and forget went wrong");

        await host.StopAsync();
        var e = FindEvent("fire and forget went wrong");
        e.Should().NotBeNull();
        e!["tags"].AsMap()["mechanism"].Should().Be("TaskScheduler.UnobservedTaskException");
    }

    [Fact]
    public async Task A_worker_that_also_calls_Init_reports_a_faulted_task_nobody_awaited_once_not_once_per_client()
    {
        // Init at the top of Main, for what fails before the host runs, and AddErrorHub() for the host: two clients.
        using var errorHub = ErrorHubSdk.Init(o => o.Dsn = _ingest.Dsn());
        using var host = await ReportingHost.StartAsync(_ingest.Dsn());

        ForgetAFaultedTask("forgotten in a worker that also called Init");
        await CollectUntilReportedAsync(host.Services.GetRequiredService<IErrorHubClient>(), "forgotten in a worker that also called Init");
        await ErrorHubSdk.Client.FlushAsync(TimeSpan.FromSeconds(10));
        await host.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(10));
        await host.StopAsync();

        Events("forgotten in a worker that also called Init").Should().ContainSingle()
            .Which["environment"].Should().Be("production", "the host's client reports it: it knows the environment, Init's does not");
    }

    [Fact]
    public async Task A_console_app_starts_ErrorHub_with_Init_and_disposing_the_handle_sends_what_is_queued()
    {
        using (ErrorHubSdk.Init(o => o.Dsn = _ingest.Dsn()))
        {
            ErrorHubSdk.Client.IsEnabled.Should().BeTrue();
            ErrorHubSdk.Client.CaptureException(SdkUnderTest.Thrown(new InvalidOperationException("the import tool failed")));
        }

        ErrorHubSdk.Client.IsEnabled.Should().BeFalse("the handle is disposed");
        await _ingest.WaitForRequestsAsync(1);
        SingleEvent()["exceptions"].AsList()[0].AsMap()["value"].Should().Be("the import tool failed");
    }

    [Fact]
    public async Task A_console_app_that_gives_Init_its_logger_factory_learns_that_the_server_refused_the_key()
    {
        _ingest.Answer(RecordingIngest.Status(401));
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddProvider(logs));
        using (ErrorHubSdk.Init(o => o.Dsn = _ingest.Dsn(), loggerFactory))
        {
            ErrorHubSdk.Client.CaptureException(SdkUnderTest.Thrown(new InvalidOperationException("the import tool failed")));
        }

        await _ingest.WaitForRequestsAsync(1);
        logs.Entries.Should().ContainSingle(e => e.Message.Contains("stopped sending", StringComparison.Ordinal))
            .Which.Level.Should().Be(LogLevel.Error, "a console app has no host whose log would show it");
        loggerFactory.CreateLogger("still the app's").LogInformation("the handle's disposal left the app's factory working");
        logs.Entries.Should().Contain(e => e.Message == "the handle's disposal left the app's factory working");
    }

    [Fact]
    public async Task An_exception_already_reported_is_not_reported_again_when_the_runtime_finds_its_task_unobserved()
    {
        // Blazor's static rendering does this: the failed page's exception is reported by UseErrorHub(), and its faulted
        // task, never awaited, reaches the runtime's finalizer at the next collection.
        using var host = await ReportingHost.StartAsync(_ingest.Dsn());
        var client = host.Services.GetRequiredService<IErrorHubClient>();

        ReportThenForgetItsTask(client);
        await CollectUntilReportedAsync(client, "never reported, then forgotten");

        await host.StopAsync();
        FindEvent("never reported, then forgotten").Should().NotBeNull("the hook saw the forgotten tasks");
        Events("reported, then its task was forgotten").Should().ContainSingle();
    }

    [Fact]
    public async Task A_Blazor_redirect_whose_task_the_framework_left_unobserved_is_not_reported()
    {
        // BlazingPizza (the Identity template on .NET 8): each sign-in redirects by throwing NavigationException, and the
        // static renderer leaves a task of it unobserved; at the next collection the runtime hands it to the hook.
        using var host = await ReportingHost.StartAsync(_ingest.Dsn());
        var client = host.Services.GetRequiredService<IErrorHubClient>();

        ForgetARedirect();
        ForgetAFaultedTask("forgotten after the sign-in's redirect");
        await CollectUntilReportedAsync(client, "forgotten after the sign-in's redirect");

        await host.StopAsync();
        FindEvent("forgotten after the sign-in's redirect").Should().NotBeNull("the hook saw the forgotten tasks");
        _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList())
            .Select(e => (string)e.AsMap()["exceptions"].AsList()[0].AsMap()["type"]!)
            .Should().NotContain(typeof(Microsoft.AspNetCore.Components.NavigationException).FullName);
    }

    [Fact]
    public async Task A_logged_failure_logged_again_wrapped_is_reported_once_but_an_aggregate_of_several_failures_is_reported()
    {
        using var host = await ReportingHost.StartAsync(_ingest.Dsn());
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Imports");

        // A step logs its failure and throws it on; the caller wraps it, and its caller logs the wrapper: one failure.
        var timedOut = SdkUnderTest.Thrown(new InvalidOperationException("the feed timed out"));
        logger.LogError(timedOut, "Fetching the feed failed");
        logger.LogError(SdkUnderTest.Thrown(new ApplicationException("the import failed", timedOut)), "Import aborted");

        // Task.WhenAll's failures together: the second one was never reported, so the aggregate is not a mere wrapper.
        var full = SdkUnderTest.Thrown(new InvalidOperationException("the archive is full"));
        logger.LogError(new AggregateException(timedOut, full), "The nightly jobs failed");
        await host.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(10));
        await host.StopAsync();

        var reported = _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList())
            .Select(e => (string)e.AsMap()["exceptions"].AsList()[0].AsMap()["type"]!).ToList();
        reported.Should().BeEquivalentTo(["System.InvalidOperationException", "System.AggregateException"]);
    }

    /// <summary>
    /// Hangfire logs each failed attempt of a job as a Warning with a message it formatted itself (its logger state is
    /// that string): the first attempt and the job's end are reported, the retries between them only when their text
    /// says no later attempt (a number that does not parse, none at all).
    /// </summary>
    [Fact]
    public async Task Hangfire_retries_after_the_first_attempt_are_breadcrumbs_and_odd_retry_texts_are_still_reported()
    {
        using var host = await ReportingHost.StartAsync(_ingest.Dsn());
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Hangfire.AutomaticRetryAttribute");
        string[] messages =
        [
            "Failed to process the job '12': an exception occurred. Retry attempt 1 of 10 will be performed in 00:00:41.",
            "Failed to process the job '12': an exception occurred. Retry attempt 2 of 10 will be performed in 00:00:36.",
            "Failed to process the job '12': an exception occurred. Retry attempt 10 of 10 will be performed in 00:40:12.",
            "Failed to process the job '13': an exception occurred. Retry attempt 99999999999999999999 of 10 will be performed in 00:00:41.",
            "Failed to process the job '14': an exception occurred. Retry attempt ",
            "Failed to process the job '15': an exception occurred. Retry attempt two of 10 will be performed in 00:00:41.",
            "Failed to process the job '16': an exception occurred. Job was automatically deleted because the retry attempt count exceeded 10.",
        ];
        foreach (var message in messages)
        {
            logger.Log(LogLevel.Warning, default, (object)message, SdkUnderTest.Thrown(new InvalidOperationException(message)), (state, _) => state.ToString()!);
        }

        logger.LogWarning(SdkUnderTest.Thrown(new InvalidOperationException("templated")), "Retry attempt {Attempt} of {Attempts}", 3, 10);
        await host.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(10));
        await host.StopAsync();

        var reported = _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList())
            .Select(e => (string)e.AsMap()["exceptions"].AsList()[0].AsMap()["value"]!).ToList();
        reported.Should().BeEquivalentTo([messages[0], messages[3], messages[4], messages[5], messages[6]]);
    }

    /// <summary>
    /// A data library that logs a failed query before throwing it on (EF Core does) in a background service: the event waits
    /// for the exception to reach the app's code, and the host's own entry of it ("BackgroundService failed") sends it with
    /// the worker's frames, once, instead of the library's frames alone.
    /// </summary>
    [Fact]
    public async Task A_library_logged_failure_escaping_a_BackgroundService_is_reported_once_with_the_workers_frames()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLogging().AddErrorHub(o => o.Dsn = _ingest.Dsn());
        builder.Services.AddHostedService<WorkerQueryingOrders>();
        builder.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
        using var host = builder.Build();

        await host.StartAsync();
        await WaitForEventAsync("the orders table has no column DeliveredAt");
        await Task.Delay(UnwindingEventsDelayAndMore); // a second report would follow the first
        await host.StopAsync();

        var e = Events("the orders table has no column DeliveredAt").Should().ContainSingle().Subject;
        e["logger"].Should().Be("Microsoft.Data.Orders", "the library's entry made the event");
        InAppTypes(e).Should().Contain(t => t.EndsWith("WorkerQueryingOrders", StringComparison.Ordinal));
    }

    /// <summary>
    /// The same failure caught by the worker, which goes on: nothing sees the exception again, so the event is sent after
    /// the short wait, with the frames it unwound through until the worker caught it. A flush sends it at once. The wait
    /// is on the test's clock, which moves only once the worker has caught the exception: on the real clock a loaded
    /// machine (a full test run) could stall the logging thread past the wait before the exception reached the worker.
    /// </summary>
    [Fact]
    public async Task A_library_logged_failure_the_app_catches_is_sent_after_a_short_wait_with_the_apps_frames()
    {
        var clock = new TestClock();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddLogging().AddErrorHub(o => o.Dsn = _ingest.Dsn());
        using var host = builder.Build();
        await host.StartAsync();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Microsoft.Data.Orders");

        var caught = await CountCatchingAsync(logger, "the orders table has no column DeliveredAt");
        await clock.WaitStartedAsync(ErrorHub.Internal.UnwindingEvents.Delay);
        FindEvent("the orders table has no column DeliveredAt").Should().BeNull("the event waits for its exception to unwind");
        clock.Advance(ErrorHub.Internal.UnwindingEvents.Delay);
        await WaitForEventAsync("the orders table has no column DeliveredAt");
        var e = Events("the orders table has no column DeliveredAt").Should().ContainSingle().Subject;
        InAppTypes(e).Should().Contain(t => t.EndsWith(nameof(OutsideRequestsTests), StringComparison.Ordinal), "the app caught it there");

        // A flush does not wait for the delay (the clock stands still): what was captured before it is sent.
        await CountCatchingAsync(logger, "the orders table is locked");
        (await host.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
        Events("the orders table is locked").Should().ContainSingle();
        await host.StopAsync();
        caught.Should().Be(-1);
    }

    /// <summary>
    /// Waits for this failure's event (other tests' forgotten tasks may reach the ingest too, see <see cref="FindEvent"/>),
    /// and fails naming what did arrive when it does not within the ingest's guard.
    /// </summary>
    private async Task WaitForEventAsync(string value)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (FindEvent(value) is null)
        {
            if (waited.Elapsed > RecordingIngest.Guard)
            {
                var arrived = _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => e.AsMap())
                    .Select(e => e.Keys.Contains("exceptions") ? e["exceptions"].AsList()[0].AsMap()["value"] : "(no exception)");
                throw new TimeoutException($"No event \"{value}\" within {RecordingIngest.Guard}; arrived: [{string.Join(", ", arrived)}].");
            }

            await Task.Delay(100);
        }
    }

    private static readonly TimeSpan UnwindingEventsDelayAndMore = ErrorHub.Internal.UnwindingEvents.Delay * 3;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<int> CountCatchingAsync(ILogger logger, string message)
    {
        try
        {
            return await Microsoft.Data.Orders.OrderQuery.CountAsync(logger, message);
        }
        catch (InvalidOperationException)
        {
            return -1; // the worker shows "no count" and goes on
        }
    }

    private static List<string> InAppTypes(WireMap e) =>
        [.. e["exceptions"].AsList()[0].AsMap()["frames"].AsList().Select(f => f.AsMap())
            .Where(f => Equals(f["in_app"], true)).Select(f => (string)f["type"]!)];

    /// <summary>Collects (the runtime finds forgotten faulted tasks in their finalizers) until the event arrives, five times at most.</summary>
    private async Task CollectUntilReportedAsync(IErrorHubClient client, string value)
    {
        for (var i = 0; i < 5 && FindEvent(value) is null; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await client.FlushAsync(TimeSpan.FromSeconds(5));
        }
    }

    private WireMap SingleEvent() =>
        _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Should().ContainSingle().Subject.AsMap();

    /// <summary>The event of this exception message: the runtime may find other tests' forgotten tasks too.</summary>
    private WireMap? FindEvent(string value) => Events(value).FirstOrDefault();

    private IEnumerable<WireMap> Events(string value) =>
        _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => e.AsMap())
            .Where(e => e.Keys.Contains("exceptions") && Equals(e["exceptions"].AsList()[0].AsMap()["value"], value));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ReportThenForgetItsTask(IErrorHubClient client)
    {
        var reported = SdkUnderTest.Thrown(new InvalidOperationException("reported, then its task was forgotten"));
        client.CaptureException(reported);
        _ = Task.FromException(reported).IsCompleted;
        _ = Task.FromException(new InvalidOperationException("never reported, then forgotten")).IsCompleted;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ForgetARedirect() =>
        _ = Task.FromException(SdkUnderTest.Thrown(new Microsoft.AspNetCore.Components.NavigationException("/"))).IsCompleted;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ForgetAFaultedTask(string message = "fire and forget went wrong") =>
        _ = Task.FromException(new InvalidOperationException(message)).IsCompleted;

    private sealed class WorkerFailingAtStart : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
            throw new InvalidOperationException("the worker's queue name is empty");
    }

    private sealed class FailingToStart : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the cache server refused the connection");

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class WorkerQueryingOrders(ILoggerFactory loggers) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken) =>
            await Microsoft.Data.Orders.OrderQuery.CountAsync(loggers.CreateLogger("Microsoft.Data.Orders"), "the orders table has no column DeliveredAt");
    }

    private sealed class FailingWorker : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("the nightly import found no file");
        }
    }
}
