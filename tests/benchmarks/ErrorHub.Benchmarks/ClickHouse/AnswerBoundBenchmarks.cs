using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ErrorHub.Storage.ClickHouse;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Benchmarks.ClickHouse;

/// <summary>
/// What <see cref="BoundedAnswer"/> costs the reads of ClickHouse's answers, each against the same read without it in the
/// same run: a JSONEachRow answer (a page of 50 rows, and 1 MB of rows) read line by line as the client reads one, from
/// memory so that only the wrapper's cost shows; and ingest's write path, an insert sent over loopback HTTP to a server
/// that answers as ClickHouse answers an insert (no body, a summary header), through <see cref="ClickHouseAnswerHandler"/>
/// with its bounds (a stall bound and the insert's size bound) and without any. Docs: docs/benchmarks.md section 106.
/// Run: <c>dotnet run -c Release -- --filter '*AnswerBoundBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AnswerBoundBenchmarks
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly BoundedAnswer.Stall Stall = new(RequestTimeout, () => new TimeoutException("stalled"));
    private static readonly BoundedAnswer.Size Size = new(ClickHouseClient.MaxInsertAnswerBytes, () => new InvalidDataException("too long"));

    private byte[] _page = null!;
    private byte[] _rows = null!;
    private WebApplication _server = null!;
    private HttpClient _http = null!;
    private Uri _insertUrl = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _page = Rows(50);
        _rows = Rows((1 << 20) / Row(0).Length);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _server = builder.Build();
        _server.MapPost("/", async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Response.Headers["X-ClickHouse-Summary"] = "{\"read_rows\":\"100\",\"read_bytes\":\"24000\",\"written_rows\":\"100\",\"written_bytes\":\"24000\"}";
        });
        await _server.StartAsync();
        _insertUrl = new Uri(_server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/?query=INSERT%20INTO%20events%20FORMAT%20RowBinary");
        _http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = RequestTimeout };
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "page of 50 rows, read by line: without the wrapper")]
    [BenchmarkCategory("page")]
    public Task<int> PageBare() => ReadLinesAsync(_page, stall: null, size: null);

    [Benchmark(Description = "page of 50 rows, read by line: through BoundedAnswer (stall bound)")]
    [BenchmarkCategory("page")]
    public Task<int> PageBounded() => ReadLinesAsync(_page, Stall, size: null);

    [Benchmark(Baseline = true, Description = "1 MB of rows, read by line: without the wrapper")]
    [BenchmarkCategory("rows")]
    public Task<int> RowsBare() => ReadLinesAsync(_rows, stall: null, size: null);

    [Benchmark(Description = "1 MB of rows, read by line: through BoundedAnswer (stall bound)")]
    [BenchmarkCategory("rows")]
    public Task<int> RowsBounded() => ReadLinesAsync(_rows, Stall, size: null);

    [Benchmark(Baseline = true, Description = "insert over loopback HTTP: answer without the wrapper")]
    [BenchmarkCategory("insert")]
    public Task<HttpStatusCode> InsertBare() => InsertAsync(statement: null, timeout: null);

    [Benchmark(Description = "insert over loopback HTTP: answer through BoundedAnswer (stall and size bounds)")]
    [BenchmarkCategory("insert")]
    public Task<HttpStatusCode> InsertBounded() => InsertAsync("INSERT INTO events FORMAT RowBinary", RequestTimeout);

    private static async Task<int> ReadLinesAsync(byte[] answer, BoundedAnswer.Stall? stall, BoundedAnswer.Size? size)
    {
        HttpContent content = new ByteArrayContent(answer);
        if (stall is not null || size is not null)
        {
            content = await BoundedAnswer.WrapAsync(content, stall, size, CancellationToken.None);
        }

        using var _ = content;
        using var reader = new StreamReader(await content.ReadAsStreamAsync(), Encoding.UTF8);
        var lines = 0;
        while (await reader.ReadLineAsync() is not null)
        {
            lines++;
        }

        return lines;
    }

    private async Task<HttpStatusCode> InsertAsync(string? statement, TimeSpan? timeout)
    {
        // As ClickHouseClient sets them around its calls: with neither, the handler leaves the answer as it came.
        ClickHouseAnswerHandler.Statement.Value = statement;
        ClickHouseAnswerHandler.RequestTimeout.Value = timeout;
        using var request = new HttpRequestMessage(HttpMethod.Post, _insertUrl) { Content = new ByteArrayContent(_page) };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        return response.StatusCode;
    }

    private static byte[] Rows(int count) => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, count).Select(Row)));

    private static string Row(int index) =>
        $"{{\"fingerprint\":\"{index:x16}0123456789abcdef\",\"title\":\"NullReferenceException in OrderService.PlaceOrder\",\"level\":\"error\"," +
        $"\"events\":{index * 7},\"users\":{index},\"first_seen\":\"2026-12-01 10:00:00.000\",\"last_seen\":\"2026-12-07 23:59:59.999\",\"state\":\"unresolved\"}}\n";
}
