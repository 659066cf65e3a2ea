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

    public static TheoryData<ClickHouseFault> Faults => new(ClickHouseFaultProxy.Faults);

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Pages_and_the_read_api_answer_a_clear_503_not_a_500_or_a_hang_and_recover_by_themselves(ClickHouseFault fault)
    {
        await using var proxy = ClickHouseFaultProxy.Start(_clickHouse.Url);
        await using var api = await ApiHost.StartAsync(
            [Create(1, Checkout, DateTimeOffset.UtcNow.AddMinutes(-1), title: "InvalidOperationException: checkout")],
            new()
            {
                ["ErrorHub:Store:Kind"] = "clickhouse",
                ["ErrorHub:Store:ClickHouse:Url"] = proxy.Url.ToString(),
                ["ErrorHub:Store:ClickHouse:Database"] = ClickHouseServerFixture.NewDatabaseName("answerfault"),
                ["ErrorHub:Store:ClickHouse:PageTimeout"] = "00:00:02",
                ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:05",
            });
        using var session = await api.Server.SignedInClientAsync();
        Func<Task<HttpResponseMessage>>[] reads =
        [
            () => session.GetAsync("projects/1/issues"),
            () => session.GetAsync($"projects/1/issues/{Checkout}"),
            () => api.Admin.GetAsync("/api/projects/1/issues"),
            () => api.Admin.GetAsync($"/api/projects/1/issues/{Checkout}"),
        ];
        foreach (var read in reads)
        {
            using var healthy = await read();
            healthy.StatusCode.Should().Be(HttpStatusCode.OK, await healthy.Content.ReadAsStringAsync());
        }

        proxy.Fault = fault;
        foreach (var read in reads)
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var answer = await read().WaitAsync(bound.Token);
            var body = await answer.Content.ReadAsStringAsync();
            answer.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{answer.RequestMessage!.RequestUri} meets a ClickHouse answering {fault}: {body}");
            body.Should().ContainAny(["retry later", "The store is not answering"], "the page or JSON says the store is not answering");
        }

        proxy.FaultedRequests.Should().BePositive();
        proxy.Fault = ClickHouseFault.None;
        foreach (var read in reads)
        {
            using var healed = await read();
            healed.StatusCode.Should().Be(HttpStatusCode.OK, "the dashboard reads again by itself");
        }
    }

    [Fact]
    public async Task Reads_answered_with_rows_without_end_stop_at_a_bound_answer_a_clear_503_and_recover_by_themselves()
    {
        // Every read kept its rows until the answer ended: the dashboard's memory grew with whatever ClickHouse (or a proxy in
        // its place) poured, for as long as RequestTimeout let it. RequestTimeout here is far longer than the bounded reads take.
        await using var proxy = ClickHouseFaultProxy.Start(_clickHouse.Url);
        await using var api = await ApiHost.StartAsync(
            [Create(1, Checkout, DateTimeOffset.UtcNow.AddMinutes(-1), title: "InvalidOperationException: checkout")],
            new()
            {
                ["ErrorHub:Store:Kind"] = "clickhouse",
                ["ErrorHub:Store:ClickHouse:Url"] = proxy.Url.ToString(),
                ["ErrorHub:Store:ClickHouse:Database"] = ClickHouseServerFixture.NewDatabaseName("endlessrows"),
                ["ErrorHub:Store:ClickHouse:PageTimeout"] = "00:05:00",
                ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:05:00",
            });
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
        foreach (var read in reads)
        {
            using var healthy = await read();
            healthy.StatusCode.Should().Be(HttpStatusCode.OK, await healthy.Content.ReadAsStringAsync());
        }

        proxy.Fault = ClickHouseFault.EndlessRows;
        foreach (var read in reads)
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            using var answer = await read().WaitAsync(bound.Token);
            var body = await answer.Content.ReadAsStringAsync();
            answer.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{answer.RequestMessage!.RequestUri} meets rows without end: {body[..Math.Min(body.Length, 300)]}");
            body.Should().ContainAny(["retry later", "The store is not answering"], "the page or JSON says the store is not answering");
        }

        proxy.FaultedRequests.Should().BePositive();
        proxy.LargestEndlessAnswer.Should().BeLessThan(
            ErrorHub.Storage.ClickHouse.ClickHouseClient.MaxRowsAnswerChars + (32L << 20),
            "each read stops at its bound (what the kernel's buffers take aside), not at the proxy's 512 MB");
        proxy.Fault = ClickHouseFault.None;
        foreach (var read in reads)
        {
            using var healed = await read();
            healed.StatusCode.Should().Be(HttpStatusCode.OK, "the dashboard reads again by itself");
        }
    }
}
