using System.Diagnostics;
using ErrorHub.RealApps;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Ingest;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// One kind of app (tests/ErrorHub.RealApps), started on real Kestrel and reporting over loopback to a real ingest, as
/// a team's app would: what a test asserts is what ingest stored, as the dashboard would show it.
/// </summary>
internal sealed class RealAppRun : IAsyncDisposable
{
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(30);

    private readonly bool _ownsIngest;

    private RealAppRun(IngestHost ingest, WebApplication app, CapturingLoggerProvider logs, bool ownsIngest = true)
    {
        _ownsIngest = ownsIngest;
        Ingest = ingest;
        App = app;
        Logs = logs;
        BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        Http = new HttpClient { BaseAddress = BaseAddress };
    }

    public IngestHost Ingest { get; }

    public WebApplication App { get; }

    /// <summary>The app's log, as its console would show it (Information and up).</summary>
    public CapturingLoggerProvider Logs { get; }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public static async Task<RealAppRun> StartAsync(AppKind kind, string environment = "Production", AppLogging logging = AppLogging.MicrosoftExtensions)
    {
        var ingest = await IngestHost.StartAsync();
        var logs = new CapturingLoggerProvider();
        var app = await RealApp.StartAsync(kind, ingest.Dsn, logs, environment, logging);
        return new RealAppRun(ingest, app, logs);
    }

    /// <summary>
    /// One run of an app reporting to an ingest that outlives it (the test disposes the ingest): an app stopped and
    /// started again, as a deployment restarts it.
    /// </summary>
    public static async Task<RealAppRun> StartAsync(AppKind kind, IngestHost ingest, IReadOnlyDictionary<string, string?> settings)
    {
        var logs = new CapturingLoggerProvider();
        var app = await RealApp.StartAsync(kind, ingest.Dsn, logs, settings: settings);
        return new RealAppRun(ingest, app, logs, ownsIngest: false);
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? user = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (user is not null)
        {
            request.Headers.Add("X-User", user);
        }

        var response = await Http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>
    /// The events ingest stored once one whose first exception says <paramref name="sentinel"/> arrived and the SDK was
    /// flushed: a test makes its reported failure last, so whatever else was (wrongly) reported before it is there too.
    /// </summary>
    public async Task<List<ErrorEvent>> EventsUpToAsync(string sentinel)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var events = await Ingest.AllEventsAsync();
            if (events.Any(e => e.Exceptions.Any(x => x.Value.Contains(sentinel, StringComparison.Ordinal))))
            {
                await App.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(10));
                return await Ingest.AllEventsAsync();
            }

            if (stopwatch.Elapsed > ArrivalTimeout)
            {
                throw new TimeoutException(
                    $"No event \"{sentinel}\" within {ArrivalTimeout.TotalSeconds:0} s; stored: {string.Join(" | ", events.Select(e => e.Title))}\n"
                    + string.Join("\n", Logs.Entries));
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Returns once <paramref name="condition"/> (on the app's log or its handlers) holds; after a minute without, fails
    /// naming <paramref name="what"/> was awaited, with the app's log.
    /// </summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > TimeSpan.FromMinutes(1))
            {
                throw new TimeoutException($"Not within a minute: {what}; log:\n" + string.Join("\n", Logs.Entries));
            }

            await Task.Delay(50);
        }
    }

    /// <summary>What the SDK itself wrote into the app's log: nothing at Information or above when all went well.</summary>
    public IEnumerable<LogEntry> SdkLogNoise =>
        Logs.Entries.Where(e => e.Category.StartsWith("ErrorHub", StringComparison.Ordinal)
            && !e.Category.StartsWith("ErrorHub.RealApps.", StringComparison.Ordinal) // the app's own classes (its authentication handler logs its 401s)
            && e.Level >= LogLevel.Information);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        if (_ownsIngest)
        {
            await Ingest.DisposeAsync();
        }
    }
}
