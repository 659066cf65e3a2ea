using System.Net;
using System.Net.Http.Json;
using ErrorHub.Dashboard.Api;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>
/// The JSON API's changes in front of a ClickHouse that breaks chosen answers (<see cref="ClickHouseFaultProxy"/>), over real
/// HTTP with an API token: a merge and an unmerge whose answers broke after ClickHouse took them are made once when sent
/// again with their <c>Idempotency-Key</c>; the same key sent while its first request is still being made is answered 409;
/// a state change whose timeline entry ClickHouse refused, and that no one makes again, is in the activity all the same.
/// Until December 2026 the merge sent again was refused as "merged already" (400) and the unmerge as "no merged issue"
/// (404), both with their timeline entries missing; the second request with a key was made beside the first; and the
/// change whose entry was refused had none.
/// </summary>
public sealed class MergeIdempotencyApiTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");
    private static readonly string Cart = Fingerprint("cart");

    private readonly ClickHouseServerFixture _clickHouse = ClickHouseServerFixture.Create(externalUrl: null, ClickHouseServerFixture.ConfiguredBinary);
    private ClickHouseFaultProxy _proxy = null!;
    private ApiHost _api = null!;

    public Task InitializeAsync() => _clickHouse.InitializeAsync();

    /// <summary>The dashboard on ClickHouse behind a proxy answering <paramref name="fault"/> to the requests <see cref="ClickHouseFaultProxy.FaultOnly"/> picks (none yet).</summary>
    private async Task StartAsync(ClickHouseFault fault)
    {
        _proxy = ClickHouseFaultProxy.Start(_clickHouse.Url);
        _proxy.Arm(fault);
        var now = DateTimeOffset.UtcNow;
        _api = await ApiHost.StartAsync(
            [
                Create(1, Checkout, now.AddMinutes(-3), title: "InvalidOperationException: checkout"),
                Create(1, Checkout, now.AddMinutes(-2), title: "InvalidOperationException: checkout"),
                Create(1, Cart, now.AddMinutes(-1), title: "NullReferenceException: cart"),
            ],
            new()
            {
                ["ErrorHub:Store:Kind"] = "clickhouse",
                ["ErrorHub:Store:ClickHouse:Url"] = _proxy.Url.ToString(),
                ["ErrorHub:Store:ClickHouse:Database"] = ClickHouseServerFixture.NewDatabaseName("mergekey"),

                // Long enough for a request held by the proxy while the test sends another (a loaded machine included).
                ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:02:00",
            });
    }

    public async Task DisposeAsync()
    {
        _proxy?.ReleaseHeld();
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        await _clickHouse.DisposeAsync();
    }

    [Fact]
    public async Task A_merge_and_an_unmerge_whose_answers_broke_are_made_once_when_sent_again_with_their_key()
    {
        await StartAsync(ClickHouseFault.ResetMidAnswer);
        _proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_merges");
        using (var lost = await _api.Admin.SendAsync(Request($"{Checkout}/merge", new { sources = new[] { Cart } }, "merge-1")))
        {
            lost.IsSuccessStatusCode.Should().BeFalse($"the merge's answer broke: {await lost.Content.ReadAsStringAsync()}");
        }

        _proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        using (var merged = await _api.Admin.SendAsync(Request($"{Checkout}/merge", new { sources = new[] { Cart } }, "merge-1")))
        {
            merged.StatusCode.Should().Be(HttpStatusCode.OK, await merged.Content.ReadAsStringAsync());
            (await ApiHost.JsonAsync(merged)).GetProperty("merged").EnumerateArray().Select(item => item.GetString()).Should().Equal([Cart]);
        }

        (await KindsAsync(Checkout)).Should().Equal([IssueChangeKind.Merge], "the merge is entered once in the issue merged into");
        (await KindsAsync(Cart)).Should().Equal([IssueChangeKind.Merge], "and once in the merged issue");

        _proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_merges");
        using (var lost = await _api.Admin.SendAsync(Request($"{Cart}/unmerge", new { }, "unmerge-1")))
        {
            lost.IsSuccessStatusCode.Should().BeFalse($"the unmerge's answer broke: {await lost.Content.ReadAsStringAsync()}");
        }

        _proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        using (var unmerged = await _api.Admin.SendAsync(Request($"{Cart}/unmerge", new { }, "unmerge-1")))
        {
            unmerged.StatusCode.Should().Be(HttpStatusCode.NoContent, await unmerged.Content.ReadAsStringAsync());
        }

        _proxy.FaultedRequests.Should().Be(2);
        (await KindsAsync(Checkout)).Should().Equal([IssueChangeKind.Unmerge, IssueChangeKind.Merge]);
        (await KindsAsync(Cart)).Should().Equal([IssueChangeKind.Unmerge, IssueChangeKind.Merge]);
        (await _api.GetJsonAsync($"/api/projects/1/issues/{Cart}")).GetProperty("fingerprint").GetString().Should().Be(Cart, "it is an issue of its own again");

        // The same keys once more: answered as before, nothing made again.
        using (var again = await _api.Admin.SendAsync(Request($"{Cart}/unmerge", new { }, "unmerge-1")))
        {
            again.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        (await KindsAsync(Cart)).Should().HaveCount(2);
    }

    [Fact]
    public async Task The_same_key_sent_while_its_first_request_is_being_made_is_answered_409_and_made_once()
    {
        await StartAsync(ClickHouseFault.ResetMidAnswer);
        // The first comment's insert is held on its way to ClickHouse: that request is under way for as long as the test says.
        var held = 0;
        _proxy.HoldOnly = head => ClickHouseFaultProxy.InsertsInto("issue_history")(head) && Interlocked.Increment(ref held) == 1;
        var first = _api.Admin.SendAsync(Request($"{Checkout}/comments", new { text = "the coupon field" }, "comment-1"));
        await _proxy.FirstHeld.WaitAsync(TimeSpan.FromMinutes(2));

        using (var meanwhile = await _api.Admin.SendAsync(Request($"{Checkout}/comments", new { text = "the coupon field" }, "comment-1")))
        {
            meanwhile.StatusCode.Should().Be(HttpStatusCode.Conflict, await meanwhile.Content.ReadAsStringAsync());
            (await ApiHost.ErrorAsync(meanwhile)).Should().Contain("Idempotency-Key is being made now");
        }

        _proxy.ReleaseHeld();
        using (var answered = await first)
        {
            answered.StatusCode.Should().Be(HttpStatusCode.Created, await answered.Content.ReadAsStringAsync());
        }

        using (var after = await _api.Admin.SendAsync(Request($"{Checkout}/comments", new { text = "the coupon field" }, "comment-1")))
        {
            after.StatusCode.Should().Be(HttpStatusCode.Created, "answered, the same request is answered again as made");
        }

        (await KindsAsync(Checkout)).Should().Equal([IssueChangeKind.Comment], "made once");
    }

    [Fact]
    public async Task A_change_whose_timeline_entry_ClickHouse_refused_is_in_the_activity_though_no_one_made_it_again()
    {
        // ClickHouse takes the states and refuses the entries written after them; no one makes the changes again.
        await StartAsync(ClickHouseFault.ErrorAnswer);
        _proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_history");
        var admin = await _api.AdminAccountAsync();
        await ChangeRefusedAsync($"{Checkout}/assignee", new { assigneeId = admin.Id });

        _proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;

        // The next change finds the assignment's entry missing and adds it; the read of the activity adds the last one's.
        using (var resolved = await _api.Admin.SendAsync(Request($"{Checkout}/state", new { status = "resolved" }, key: null)))
        {
            resolved.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        _proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_history");
        await ChangeRefusedAsync($"{Checkout}/state", new { status = "unresolved" });

        _proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        var items = (await _api.GetJsonAsync($"/api/projects/1/issues/{Checkout}/activity")).GetProperty("items").EnumerateArray()
            .Select(item => (item.GetProperty("kind").GetString(), item.GetProperty("text").GetString(), item.GetProperty("actorId").GetGuid()))
            .ToList();
        items.Should().Equal(
            [("status", "Reopened", admin.Id), ("status", "Resolved", admin.Id), ("assignment", $"Assigned to {admin.Name}", admin.Id)],
            "each change is in the activity once, with who made it");
        (await KindsAsync(Checkout)).Should().HaveCount(3, "read again, nothing is added twice");
    }

    [Fact]
    public async Task Two_changes_whose_entries_ClickHouse_refused_are_in_the_activity_and_a_merge_it_refused_is_not()
    {
        // ClickHouse refuses the timeline for a while and takes the states: two changes in a row lose their entries, then it
        // refuses a merge, which no one makes again. Until December 2026 a state kept only the latest change's entry (the
        // assignment was missing for good) and a merge's entries were written before it (both activities said "Merged").
        await StartAsync(ClickHouseFault.ErrorAnswer);
        _proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_history");
        var admin = await _api.AdminAccountAsync();
        await ChangeRefusedAsync($"{Checkout}/assignee", new { assigneeId = admin.Id });
        await ChangeRefusedAsync($"{Checkout}/state", new { status = "resolved" });

        _proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_merges");
        using (var refused = await _api.Admin.SendAsync(Request($"{Checkout}/merge", new { sources = new[] { Cart } }, "merge-refused")))
        {
            refused.IsSuccessStatusCode.Should().BeFalse($"ClickHouse refused the merge: {await refused.Content.ReadAsStringAsync()}");
        }

        _proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        var items = (await _api.GetJsonAsync($"/api/projects/1/issues/{Checkout}/activity")).GetProperty("items").EnumerateArray()
            .Select(item => (item.GetProperty("kind").GetString(), item.GetProperty("text").GetString()))
            .ToList();
        items.Should().Equal([("status", "Resolved"), ("assignment", $"Assigned to {admin.Name}")], "each change once, and no merge");
        (await _api.GetJsonAsync($"/api/projects/1/issues/{Cart}/activity")).GetProperty("items").GetArrayLength().Should().Be(0, "the merge was not made");
        (await KindsAsync(Checkout)).Should().HaveCount(2, "read again, nothing is added twice");
    }

    [Fact]
    public async Task A_merge_whose_entries_ClickHouse_refused_is_told_before_its_unmerge_and_a_lost_unmerge_in_the_issue_it_left_read_first()
    {
        // Until December 2026 a merge whose entries were lost and that was then unmerged was never told (its kept entries waited
        // for a merge that no longer stood), and an unmerge whose entries were lost was told in the issue it left only once
        // someone had read the merged issue's activity.
        await StartAsync(ClickHouseFault.ErrorAnswer);
        _proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_history");
        using (var merged = await _api.Admin.SendAsync(Request($"{Checkout}/merge", new { sources = new[] { Cart } }, key: null)))
        {
            merged.IsSuccessStatusCode.Should().BeFalse("the merge's entries were refused");
        }

        _proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        (await _api.Server.Services.GetRequiredService<IIssueMerges>().GetMergesAsync(1)).Should().ContainKey(Cart, "ClickHouse took the merge");
        using (var unmerged = await _api.Admin.SendAsync(Request($"{Cart}/unmerge", new { }, key: null)))
        {
            unmerged.StatusCode.Should().Be(HttpStatusCode.NoContent, await unmerged.Content.ReadAsStringAsync());
        }

        (await ActivityKindsAsync(Checkout)).Should().Equal(["unmerge", "merge"], "the merge stood until the unmerge");
        (await ActivityKindsAsync(Cart)).Should().Equal(["unmerge", "merge"]);

        using (var mergedAgain = await _api.Admin.SendAsync(Request($"{Checkout}/merge", new { sources = new[] { Cart } }, key: null)))
        {
            mergedAgain.StatusCode.Should().Be(HttpStatusCode.OK, await mergedAgain.Content.ReadAsStringAsync());
        }

        _proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_history");
        using (var lost = await _api.Admin.SendAsync(Request($"{Cart}/unmerge", new { }, key: null)))
        {
            lost.IsSuccessStatusCode.Should().BeFalse("the unmerge's entries were refused");
        }

        _proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        (await _api.Server.Services.GetRequiredService<IIssueMerges>().GetMergesAsync(1)).Should().NotContainKey(Cart, "ClickHouse took the unmerge");
        (await ActivityKindsAsync(Checkout)).Should().Equal(["unmerge", "merge", "unmerge", "merge"], "the issue it left, read first, tells of it");
        (await ActivityKindsAsync(Cart)).Should().Equal(["unmerge", "merge", "unmerge", "merge"]);
        (await KindsAsync(Checkout)).Should().HaveCount(4, "read again, nothing is added twice");
    }

    private async Task<List<string?>> ActivityKindsAsync(string issue) =>
        [.. (await _api.GetJsonAsync($"/api/projects/1/issues/{issue}/activity")).GetProperty("items").EnumerateArray().Select(item => item.GetProperty("kind").GetString())];

    private async Task<IReadOnlyList<IssueChangeKind>> KindsAsync(string issue) =>
        [.. (await _api.Server.Services.GetRequiredService<IIssueHistory>().GetChangesAsync(new IssueChangeQuery(1, issue))).Items.Select(entry => entry.Kind)];

    /// <summary>Sends a change once, without an idempotency key, and sees it fail: ClickHouse refused its timeline entry.</summary>
    private async Task ChangeRefusedAsync(string path, object body)
    {
        using var response = await _api.Admin.SendAsync(Request(path, body, key: null));
        response.IsSuccessStatusCode.Should().BeFalse("the entry was refused");
    }

    private static HttpRequestMessage Request(string path, object body, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/projects/1/issues/{path}") { Content = JsonContent.Create(body) };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(ApiIdempotency.Header, key);
        }

        return request;
    }
}
