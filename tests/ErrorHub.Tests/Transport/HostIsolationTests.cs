using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.Tests.Transport;

/// <summary>
/// The SDK lives inside someone else's app: the app's HTTP defaults do not reach its requests, it writes nothing
/// into the app's log while things go well, and what it logs itself never comes back to it as an event.
/// </summary>
public sealed class HostIsolationTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task The_apps_HttpClient_defaults_do_not_reach_the_SDK_and_a_batch_writes_nothing_into_the_apps_log()
    {
        var appHandlerCalls = 0;
        var logs = new CapturingLoggerProvider();
        using var host = BuildHost(
            o => o.Dsn = _ingest.Dsn(),
            services => services.ConfigureHttpClientDefaults(http =>
                http.AddHttpMessageHandler(() => new CountingHandler(() => Interlocked.Increment(ref appHandlerCalls)))),
            logs);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IErrorHubClient>();
        var loggedBefore = logs.Entries.Count; // the host's own start-up lines

        client.CaptureMessage("checkout failed");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Should().ContainSingle();
        appHandlerCalls.Should().Be(0, "a resilience or logging handler of the app would multiply or log our requests");
        logs.Entries.Skip(loggedBefore).Should().NotContain(e => e.Level >= LogLevel.Information, "a successful batch is not news in the app's log");
        await StopAsync(host);
    }

    [Fact]
    public async Task What_the_SDK_logs_about_its_own_failures_never_becomes_an_event_even_when_warnings_do()
    {
        _ingest.Answer(RecordingIngest.Status(400), RecordingIngest.Status(400));
        var logs = new CapturingLoggerProvider();
        using var host = BuildHost(
            o =>
            {
                o.Dsn = _ingest.Dsn();
                o.MinimumEventLevel = LogLevel.Warning; // the app wants its warnings as events
            },
            null,
            logs);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IErrorHubClient>();

        client.CaptureMessage("first");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        logs.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("refused 1 events with status 400"));
        _ingest.Requests.Should().ContainSingle("the SDK's warning about the refused batch must not be sent as an event");
        await StopAsync(host);
    }

    private IHost BuildHost(Action<ErrorHubOptions> configure, Action<IServiceCollection>? services, CapturingLoggerProvider logs)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        builder.Services.AddSingleton<TimeProvider>(_clock).AddErrorHub(configure);
        services?.Invoke(builder.Services);
        return builder.Build();
    }

    private async Task StopAsync(IHost host)
    {
        await host.StopAsync().Within();
        await _clock.DisposeAdvancingAsync(((IAsyncDisposable)host).DisposeAsync);
    }

    private sealed class CountingHandler(Action count) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            count();
            return base.SendAsync(request, cancellationToken);
        }
    }
}
