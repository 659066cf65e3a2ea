using System.Net;
using System.Net.Http.Headers;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// The server hosts as an operator runs them, with their own appsettings.json: a stream of accepted
/// batches writes nothing to the log (it used to write about 760 bytes per request), so a busy server's
/// log still shows what matters.
/// </summary>
public sealed class ServerLogTests : IAsyncLifetime
{
    private const string ProjectKey = "logtest-4f1c2b3a4d5e6f70";
    private const int Requests = 40;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>A batch of one message event: <c>{"events":[{"message":"disk almost full"}]}</c> as MessagePack.</summary>
    private static readonly byte[] Batch =
    [
        0x81, 0xa6, .. "events"u8, 0x91, 0x81, 0xa7, .. "message"u8, 0xb0, .. "disk almost full"u8,
    ];

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-logs-").FullName;
    private TestProcess? _process;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData("dashboard/ErrorHub.Dashboard", "/")]
    [InlineData("ingest/ErrorHub.Ingest", "/healthz")]
    public async Task Accepted_batches_write_nothing_to_the_server_log(string host, string readyPath)
    {
        var url = FreePort.NextHttpUrl();
        _process = TestProcess.StartDotnet(
            Path.GetFileName(host),
            RepositoryPaths.BuiltAssembly(host),
            ["--urls", url.GetLeftPart(UriPartial.Authority)],
            new Dictionary<string, string?>
            {
                ["ErrorHub__DataDirectory"] = _directory,
                ["ErrorHub__Project__PublicKey"] = ProjectKey,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = null,
                ["DOTNET_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
                ["Logging__LogLevel__Default"] = null,
                ["Logging__LogLevel__Microsoft.AspNetCore"] = null,
            });
        await _process.WaitForHttpAsync(new Uri(url, readyPath), StartTimeout);
        await WaitForAsync(() => _process.Output.Contains("ErrorHub DSN for project 1"), "the start-up DSN line");
        await Task.Delay(500); // the console logger writes from a queue of its own
        var before = _process.Output.TotalCharacters;

        using var client = new HttpClient { BaseAddress = url };
        for (var i = 0; i < Requests; i++)
        {
            using var content = new ByteArrayContent(Batch);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.msgpack");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = content };
            request.Headers.Add("X-ErrorHub-Key", ProjectKey);
            using var response = await client.SendAsync(request);
            response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        }

        await Task.Delay(1000);
        var written = _process.Output.TotalCharacters - before;
        written.Should().BeLessThan(Requests, $"no request may write a log line of its own; the log now ends with:\n{_process.Output}");
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"waited in vain for {what}");
            }

            await Task.Delay(100);
        }
    }
}
