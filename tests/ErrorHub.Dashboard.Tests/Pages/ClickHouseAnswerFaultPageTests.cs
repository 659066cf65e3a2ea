using System.Net;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.ClickHouse;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>
/// The dashboard's pages and read API in front of a ClickHouse that answers errors or garbage
/// (<see cref="ClickHouseFaultProxy"/> before this test's own server): each answers within a bound with a page or JSON
/// saying the store is not answering (503), never a 500 and never a hang, and serves the same data again once
/// ClickHouse answers properly.
/// </summary>
public sealed class ClickHouseAnswerFaultPageTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");

    private readonly ClickHouseServerFixture _clickHouse = ClickHouseServerFixture.Create(externalUrl: null, ClickHouseServerFixture.ConfiguredBinary);

    public Task InitializeAsync() => _clickHouse.InitializeAsync();

    public Task DisposeAsync() => _clickHouse.DisposeAsync();

    // A node hung mid-answer waited for without a bound until December 2026: PageTimeout bounded only the wait for headers.
    public static TheoryData<ClickHouseFault> Faults => new(ClickHouseFaultProxy.Faults.Append(ClickHouseFault.StallAfterHeaders));

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Pages_and_the_read_api_answer_a_clear_503_not_a_500_or_a_hang_and_recover_by_themselves(ClickHouseFault fault)
    {
        await using var proxy = ClickHouseFaultProxy.Start(_clickHouse.Url);
        await using var api = await StartAsync(proxy, "answerfault", pageTimeout: "00:00:02", requestTimeout: "00:00:05");
        using var session = await api.Server.SignedInClientAsync();
        Func<Task<HttpResponseMessage>>[] reads =
        [
            () => session.GetAsync("projects/1/issues"),
            () => session.GetAsync($"projects/1/issues/{Checkout}"),
            () => api.Admin.GetAsync("/api/projects/1/issues"),
            () => api.Admin.GetAsync($"/api/projects/1/issues/{Checkout}"),
        ];
        await EachAnswersOkAsync(reads, "ClickHouse is healthy");

        proxy.Fault = fault;
        await EachAnswersUnavailableAsync(reads, TimeSpan.FromSeconds(60), $"a ClickHouse answering {fault}");

        proxy.FaultedRequests.Should().BePositive();
        proxy.Fault = ClickHouseFault.None;
        await EachAnswersOkAsync(reads, "the dashboard reads again by itself");
    }

    [Fact]
    public async Task Reads_answered_with_rows_without_end_stop_at_a_bound_answer_a_clear_503_and_recover_by_themselves()
    {
        // Every read kept its rows until the answer ended: the dashboard's memory grew with whatever ClickHouse (or a proxy in
        // its place) poured, for as long as RequestTimeout let it. RequestTimeout here is far longer than the bounded reads take.
        await using var proxy = ClickHouseFaultProxy.Start(_clickHouse.Url);
        await using var api = await StartAsync(proxy, "endlessrows", pageTimeout: "00:05:00", requestTimeout: "00:05:00");
        using var session = await api.Server.SignedInClientAsync();
        Func<Task<HttpResponseMessage>>[] reads =
        [
            () => session.GetAsync("projects/1/issues"),
            () => session.GetAsync($"projects/1/issues/{Checkout}"),
            () => session.GetAsync($"projects/1/issues/{Checkout}/users.csv"),
            () => api.Admin.GetAsync("/api/projects/1/issues"),
            () => api.Admin.GetAsync($"/api/projects/1/issues/{Checkout}"),
            () => api.Admin.GetAsync($"/api/projects/1/issues/{Checkout}/events"),
            () => api.Admin.GetAsync($"/api/projects/1/issues/{Checkout}/breakdowns"),
        ];
        await EachAnswersOkAsync(reads, "ClickHouse is healthy");

        proxy.Fault = ClickHouseFault.EndlessRows;
        await EachAnswersUnavailableAsync(reads, TimeSpan.FromMinutes(3), "rows without end");

        proxy.FaultedRequests.Should().BePositive();
        proxy.LargestEndlessAnswer.Should().BeLessThan(
            ErrorHub.Storage.ClickHouse.ClickHouseClient.MaxRowsAnswerChars + (32L << 20),
            "each read stops at its bound (what the kernel's buffers take aside), not at the proxy's 512 MB");
        proxy.Fault = ClickHouseFault.None;
        await EachAnswersOkAsync(reads, "the dashboard reads again by itself");
    }

    /// <summary>The dashboard and its API on the ClickHouse behind <paramref name="proxy"/>, with one issue.</summary>
    private static Task<ApiHost> StartAsync(ClickHouseFaultProxy proxy, string purpose, string pageTimeout, string requestTimeout) =>
        ApiHost.StartAsync(
            [Create(1, Checkout, DateTimeOffset.UtcNow.AddMinutes(-1), title: "InvalidOperationException: checkout")],
            new()
            {
                ["ErrorHub:Store:Kind"] = "clickhouse",
                ["ErrorHub:Store:ClickHouse:Url"] = proxy.Url.ToString(),
                ["ErrorHub:Store:ClickHouse:Database"] = ClickHouseServerFixture.NewDatabaseName(purpose),
                ["ErrorHub:Store:ClickHouse:PageTimeout"] = pageTimeout,
                ["ErrorHub:Store:ClickHouse:RequestTimeout"] = requestTimeout,
            });

    private static async Task EachAnswersOkAsync(IEnumerable<Func<Task<HttpResponseMessage>>> reads, string because)
    {
        foreach (var read in reads)
        {
            using var answer = await read();
            answer.StatusCode.Should().Be(HttpStatusCode.OK, $"{because}: {await answer.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Each read answers within <paramref name="bound"/> with a page or JSON saying the store is not answering.</summary>
    private static async Task EachAnswersUnavailableAsync(IEnumerable<Func<Task<HttpResponseMessage>>> reads, TimeSpan bound, string meets)
    {
        foreach (var read in reads)
        {
            using var bounded = new CancellationTokenSource(bound);
            using var answer = await read().WaitAsync(bounded.Token);
            var body = await answer.Content.ReadAsStringAsync();
            answer.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{answer.RequestMessage!.RequestUri} meets {meets}: {body[..Math.Min(body.Length, 300)]}");
            body.Should().ContainAny(["retry later", "The store is not answering"], "the page or JSON says the store is not answering");
        }
    }
}
