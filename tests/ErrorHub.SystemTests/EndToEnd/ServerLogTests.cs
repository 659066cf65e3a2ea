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
    private const string RejectedLine = "Rejected a batch for project 1";
    private const int Requests = 40;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>A batch of one message event: <c>{"events":[{"message":"disk almost full"}]}</c> as MessagePack.</summary>
    private static readonly byte[] Batch = [0x81, 0xa6, .. "events"u8, 0x91, 0x81, 0xa7, .. "message"u8, 0xb0, .. "disk almost full"u8];

    /// <summary>An event with neither exceptions nor a message: refused with 400 and one Information line.</summary>
    private static readonly byte[] Refused = [0x81, 0xa6, .. "events"u8, 0x91, 0x81, 0xa5, .. "level"u8, 0xa4, .. "info"u8];

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
        using var client = new HttpClient { BaseAddress = url };

        // The console logger writes from a queue of its own, in order: a refused batch's line before and
        // after the accepted ones marks where the log has caught up.
        await RefuseAsync(client, expectedMarkers: 1);
        for (var i = 0; i < Requests; i++)
        {
            using var response = await PostAsync(client, Batch);
            response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        }

        await RefuseAsync(client, expectedMarkers: 2);

        var lines = _process.Output.Lines.ToList();
        var markers = lines.Select((line, index) => (line, index)).Where(x => x.line.Contains(RejectedLine, StringComparison.Ordinal)).Select(x => x.index).ToList();
        markers.Should().HaveCount(2, $"the log holds both markers:\n{_process.Output}");
        var between = lines[(markers[0] + 1)..markers[1]].Where(line => !IsHeaderOf(line)).ToList();
        between.Should().BeEmpty($"no accepted batch may write a log line of its own; the log now ends with:\n{_process.Output}");
    }

    /// <summary>The console logger's first line of an entry ("info: Category[id]"), which comes before the marker's text.</summary>
    private static bool IsHeaderOf(string line) => line.StartsWith("info: ErrorHub.Ingestion.Http.IngestEndpoint[", StringComparison.Ordinal);

    private async Task RefuseAsync(HttpClient client, int expectedMarkers)
    {
        using var response = await PostAsync(client, Refused);
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var deadline = DateTime.UtcNow + StartTimeout;
        while (_process!.Output.Lines.Count(line => line.Contains(RejectedLine, StringComparison.Ordinal)) < expectedMarkers)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"the refused batch #{expectedMarkers} was not logged:\n{_process.Output}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.msgpack");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = content };
        request.Headers.Add("X-ErrorHub-Key", ProjectKey);
        return await client.SendAsync(request);
    }
}
