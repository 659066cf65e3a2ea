using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Testing.Ingest;

/// <summary>
/// The ingest pipeline as a user mounts it (<c>AddErrorHubStore</c> + <c>AddErrorHubIngest</c> +
/// <c>MapErrorHubIngest</c>) in a real Kestrel on a free loopback port, over a real SQLite file in a
/// temporary directory. Logs are kept so tests can check that nothing failed unseen.
/// </summary>
public sealed class IngestHost : IAsyncDisposable
{
    public const int ProjectId = 1;
    public const string Key = "ingest-test-key-0123456789";

    private readonly WebApplication _app;
    private readonly bool _ownsDirectory;

    private IngestHost(WebApplication app, string directory, bool ownsDirectory, CapturingLoggerProvider logs)
    {
        _app = app;
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        Logs = logs;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address);
        Client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public string Directory { get; }

    public string DatabasePath => Path.Combine(Directory, "errorhub.db");

    public Uri BaseAddress { get; }

    /// <summary>The DSN an SDK uses to send to this host's project.</summary>
    public string Dsn => $"http://{Key}@{BaseAddress.Authority}/{ProjectId}";

    public HttpClient Client { get; }

    public CapturingLoggerProvider Logs { get; }

    /// <summary>What the dashboard reads: the stored events and issues.</summary>
    public IIssueReader Issues => _app.Services.GetRequiredService<IIssueReader>();

    public IProjectStore Projects => _app.Services.GetRequiredService<IProjectStore>();

    public IEventWriter Events => _app.Services.GetRequiredService<IEventWriter>();

    public IStoreSchema Schema => _app.Services.GetRequiredService<IStoreSchema>();

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts a host; a given <paramref name="directory"/> is kept (a restart on the same store), otherwise a new one is made and deleted.
    /// <paramref name="configureServices"/> runs before ingest registers its services (so its registrations win over ingest's defaults),
    /// <paramref name="replaceServices"/> after (to wrap what ingest registered).
    /// </summary>
    public static async Task<IngestHost> StartAsync(
        Dictionary<string, string?>? settings = null,
        string? directory = null,
        Action<IServiceCollection>? configureServices = null,
        Action<IServiceCollection>? replaceServices = null)
    {
        var ownsDirectory = directory is null;
        directory ??= Path.Combine(Path.GetTempPath(), "errorhub-ingest-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production, // no developer exception page: a 500 must show as a 500
            ContentRootPath = directory,
            Args = [],
        });
        var configuration = new Dictionary<string, string?>
        {
            ["ErrorHub:DataDirectory"] = directory,
            ["ErrorHub:Project:Id"] = ProjectId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ErrorHub:Project:Name"] = "Shop",
            ["ErrorHub:Project:PublicKey"] = Key,
            ["ErrorHub:Retention:Enabled"] = "false", // test batches carry fixed dates, which some day are older than any retention
        };
        foreach (var (key, value) in settings ?? [])
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Information);
        configureServices?.Invoke(builder.Services);
        builder.Services.AddErrorHubIngest(builder.Configuration);
        replaceServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapErrorHubIngest();
        app.MapErrorHubOperations();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            if (ownsDirectory)
            {
                DeleteDirectory(directory);
            }

            throw;
        }

        return new IngestHost(app, directory, ownsDirectory, logs);
    }

    /// <summary>Every stored event of the project, newest first.</summary>
    public async Task<List<ErrorEvent>> AllEventsAsync(int projectId = ProjectId)
    {
        var issues = await Issues.GetIssuesAsync(new IssueQuery(projectId) { Limit = 1000 });
        var events = new List<ErrorEvent>();
        foreach (var issue in issues.Items)
        {
            events.AddRange(await Issues.GetEventsAsync(projectId, issue.Fingerprint, 1000));
        }

        return events.OrderByDescending(e => e.Timestamp).ToList();
    }

    public static ByteArrayContent MessagePack(byte[] body, bool gzip = false)
    {
        var content = new ByteArrayContent(gzip ? Gzip(body) : body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.msgpack");
        if (gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }

        return content;
    }

    public Task<HttpResponseMessage> PostAsync(HttpContent content, string? key = Key, int projectId = ProjectId) =>
        PostAsync(content, key, projectId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public async Task<HttpResponseMessage> PostAsync(HttpContent content, string? key, string projectId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/{projectId}/events") { Content = content };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("X-ErrorHub-Key", key);
        }

        return await Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostAsync(byte[] body, bool gzip = false) => PostAsync(MessagePack(body, gzip));

    /// <summary>
    /// Posts <paramref name="body"/> again while ingest answers 503, as the SDK does (a repeat counts once by its event
    /// ids), for 90 s at most: the last answer's status. For a test whose store is slow only because the machine is loaded.
    /// </summary>
    public async Task<HttpStatusCode> PostUntilAcceptedAsync(byte[] body)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            using var response = await PostAsync(body).WaitAsync(TimeSpan.FromSeconds(60));
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                return response.StatusCode;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>
    /// Posts fresh sample batches (<paramref name="copies"/> times the sample's three events) until one is answered other
    /// than 202, at most <paramref name="maxBatches"/> of them: the ids of the accepted events, and the first answer that
    /// was not 202 (null when none came), which the caller reads and disposes.
    /// </summary>
    public async Task<(List<Guid> Accepted, HttpResponseMessage? Refused)> PostUntilRefusedAsync(int copies, bool gzip = false, int maxBatches = 400)
    {
        var accepted = new List<Guid>();
        for (var i = 0; i < maxBatches; i++)
        {
            var (batch, ids) = SampleBatch.WithFreshIds(copies);
            var response = await PostAsync(Wire.Encode(batch), gzip);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                return (accepted, response);
            }

            accepted.AddRange(ids);
            response.Dispose();
        }

        return (accepted, null);
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/json");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async Task StopAsync()
    {
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (_ownsDirectory)
        {
            DeleteDirectory(Directory);
        }
    }

    public static void DeleteDirectory(string directory)
    {
        if (System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>Keeps every log entry of a host, so a test can assert that no request failed with an unhandled exception.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public IEnumerable<LogEntry> Errors => _entries.Where(e => e.Level >= LogLevel.Error);

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(logLevel, category, formatter(state, exception), exception));
    }
}

public sealed record LogEntry(LogLevel Level, string Category, string Message, Exception? Exception)
{
    public override string ToString() => $"{Level} {Category}: {Message} {Exception}";
}

/// <summary>One host shared by the tests of a class; tests use fresh event ids so they do not see each other's events.</summary>
public sealed class IngestHostFixture : Xunit.IAsyncLifetime
{
    public IngestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await IngestHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
