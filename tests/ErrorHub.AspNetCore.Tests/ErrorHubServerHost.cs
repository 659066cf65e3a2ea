using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.AspNetCore.Tests;

/// <summary>The real ingest pipeline on a real SQLite file, on 127.0.0.1: what the SDK talks to in these tests.</summary>
internal sealed class ErrorHubServerHost : IAsyncDisposable
{
    public const string PublicKey = "aspnetcoretests0123456789abcdef0";
    private readonly WebApplication _app;
    private readonly string _directory;

    private ErrorHubServerHost(WebApplication app, string directory)
    {
        _app = app;
        _directory = directory;
    }

    public IIssueReader Issues => _app.Services.GetRequiredService<IIssueReader>();

    public string Dsn { get; private set; } = "";

    public static async Task<ErrorHubServerHost> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("errorhub-aspnetcore-tests-").FullName;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ErrorHub:Store:Kind"] = "sqlite",
            ["ErrorHub:Store:Sqlite:Path"] = Path.Combine(directory, "errorhub.db"),
            ["ErrorHub:Project:Id"] = "1",
            ["ErrorHub:Project:PublicKey"] = PublicKey,
        });
        builder.Services.AddErrorHubStore(builder.Configuration);
        builder.Services.AddErrorHubIngest(builder.Configuration);
        var app = builder.Build();
        app.MapErrorHubIngest();
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new ErrorHubServerHost(app, directory) { Dsn = $"http://{PublicKey}@{address.Authority}/1" };
    }

    /// <summary>Every stored event of project 1, newest first.</summary>
    public async Task<List<Storage.Events.ErrorEvent>> AllEventsAsync()
    {
        var issues = await Issues.GetIssuesAsync(new IssueQuery(1) { Limit = 500 });
        var events = new List<Storage.Events.ErrorEvent>();
        foreach (var issue in issues.Items)
        {
            events.AddRange(await Issues.GetEventsAsync(1, issue.Fingerprint, 500));
        }

        return events.OrderByDescending(e => e.Timestamp).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
