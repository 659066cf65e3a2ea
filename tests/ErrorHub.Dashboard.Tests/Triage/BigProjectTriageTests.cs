using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Dashboard.Triage;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using Microsoft.Extensions.Time.Testing;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Triage;

/// <summary>
/// The issue list of a project a few years old on ClickHouse: 300,000 issues resolved or ignored long ago, past what one read
/// of all the project's states can answer (64 M characters). Each tab lists its issues with the status each row shows, as a
/// small project's does. Until December 2026 every render read all the project's states, and such a list failed outright.
/// </summary>
public sealed class BigProjectTriageTests : IAsyncLifetime
{
    private const int Project = 1;
    private const int OldIssues = 300_000;
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    private static readonly string[] Live = [.. Enumerable.Range(0, 40).Select(i => Fingerprint($"live-{i:D2}"))];

    private readonly ClickHouseServerFixture _clickHouse = ClickHouseServerFixture.Create(externalUrl: null, ClickHouseServerFixture.ConfiguredBinary);
    private readonly HttpClient _http = new(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
    private readonly FakeTimeProvider _clock = new(Start);
    private ErrorHubStore _store = null!;
    private IssueTriage _triage = null!;

    public async Task InitializeAsync()
    {
        await _clickHouse.InitializeAsync();
        _store = ClickHouseDatabase.Open(new ClickHouseClient(_http, new ClickHouseConnection(_clickHouse.Url)), ClickHouseServerFixture.NewDatabaseName("bigproject"));
        await _store.Schema.EnsureSchemaAsync();
        await _store.Access.CreateUserAsync(TemporaryStore.Admin);
        await _store.Projects.UpsertProjectAsync(TestProjects.Shop);
        _triage = new IssueTriage(_store.Notifications.States, _store.Notifications.Activity, _store.Issues, _store.History, _store.Access, _clock, releases: _store.Releases);
    }

    public async Task DisposeAsync()
    {
        _store?.Dispose();
        _http.Dispose();
        await _clickHouse.DisposeAsync();
    }

    [Fact]
    public async Task A_project_with_300000_old_triaged_issues_lists_each_tab_as_a_small_one_does()
    {
        // 40 live issues: 0 resolved and back since, 1-9 resolved, 10-19 ignored for good, 20 ignored until a time now past,
        // 21 ignored until one more event and it came, 22-24 assigned, the rest never triaged.
        await _store.Events.InsertEventsAsync([.. Live.Select(issue => Create(Project, issue, Start.AddMinutes(-10)))]);
        var changed = Start.AddMinutes(-5);
        var admin = TemporaryStore.Admin.Id;
        await _store.Notifications.States.SetStatesAsync(
        [
            .. Live[..10].Select(issue => new IssueState(Project, issue, IssueStatus.Resolved, changed)),
            .. Live[10..20].Select(issue => new IssueState(Project, issue, IssueStatus.Ignored, changed)),
            new IssueState(Project, Live[20], IssueStatus.Ignored, changed) { IgnoredUntil = Start.AddMinutes(-1) },
            new IssueState(Project, Live[21], IssueStatus.Ignored, changed) { IgnoredUntilEvents = 1 },
            .. Live[22..25].Select(issue => new IssueState(Project, issue, IssueStatus.Unresolved, changed) { AssigneeId = admin }),
        ]);
        await _store.Events.InsertEventsAsync([Create(Project, Live[0], Start.AddMinutes(-1)), Create(Project, Live[21], Start.AddMinutes(-1))]);

        string[] tabs = ["unresolved", "resolved", "ignored", "regressed", "new", "all"];
        var small = new Dictionary<string, IReadOnlyDictionary<string, (TriageStatus, Guid?)>>();
        foreach (var tab in tabs)
        {
            small[tab] = await ListAsync(tab);
            (await ListAsync(tab, whole: true)).Should().BeEquivalentTo(small[tab], $"the {tab} tab reads as when all the project's states are read");
        }

        small["unresolved"].Should().BeEquivalentTo(
            new Dictionary<string, (TriageStatus, Guid?)> { [Live[0]] = (TriageStatus.Regressed, null), [Live[20]] = (TriageStatus.Unresolved, null), [Live[21]] = (TriageStatus.Unresolved, null) }
                .Concat(Live[22..25].Select(issue => KeyValuePair.Create(issue, (TriageStatus.Unresolved, (Guid?)admin))))
                .Concat(Live[25..].Select(issue => KeyValuePair.Create(issue, (TriageStatus.Unresolved, (Guid?)null)))));
        small["resolved"].Should().BeEquivalentTo(Live[1..10].ToDictionary(issue => issue, _ => (TriageStatus.Resolved, (Guid?)null)));
        small["ignored"].Should().BeEquivalentTo(Live[10..20].ToDictionary(issue => issue, _ => (TriageStatus.Ignored, (Guid?)null)));
        small["regressed"].Should().BeEquivalentTo(new Dictionary<string, (TriageStatus, Guid?)> { [Live[0]] = (TriageStatus.Regressed, null) });

        // Years of triage: issues whose events are long gone, each state as the dashboard writes it (its action and timeline entry).
        foreach (var chunk in Enumerable.Range(0, OldIssues).Chunk(25_000))
        {
            await _store.Notifications.States.SetStatesAsync([.. chunk.Select(OldState)]);
        }

        await FluentActions.Awaiting(() => _triage.EvaluateAsync(Project)).Should().ThrowAsync<Exception>("one read of all the project's states is past ClickHouse's answer limit");
        foreach (var tab in tabs)
        {
            (await ListAsync(tab)).Should().BeEquivalentTo(small[tab], $"the {tab} tab is as it was before the old states");
        }
    }

    /// <summary>An issue resolved or ignored long ago, its events gone: its state as the dashboard writes it (its action and timeline entry).</summary>
    internal static IssueState OldState(int i)
    {
        var fingerprint = Fingerprint($"old-{i:D6}");
        var at = Start.AddDays(-700).AddSeconds(i * 60L);
        var state = i % 3 == 0
            ? new IssueState(Project, fingerprint, IssueStatus.Ignored, at)
            : new IssueState(Project, fingerprint, IssueStatus.Resolved, at) { ResolvedInRelease = "shop@1.0." + (i % 50) };
        return state with
        {
            Actions = Guid.NewGuid().ToString("N"),
            Entries = new IssueEntries(
            [
                new IssueChange(Project, fingerprint, Guid.NewGuid(), at, IssueChangeKind.Status, TemporaryStore.Admin.Id, "Ada Admin")
                {
                    Text = state.Status == IssueStatus.Resolved ? "Resolved in shop@1.0." + (i % 50) : "Ignored",
                    Value = state.Status == IssueStatus.Resolved ? "resolved" : "ignored",
                },
            ]),
        };
    }

    /// <summary>
    /// A tab's issues as the list shows them (status and assignee of each row), read as the list API reads them; with
    /// <paramref name="whole"/>, from all the project's states read at once instead.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, (TriageStatus, Guid?)>> ListAsync(string tab, bool whole = false)
    {
        var now = _clock.GetUtcNow();
        var views = whole ? await _triage.EvaluateAsync(Project) : await _triage.EvaluateForListAsync(Project);
        var filter = await _triage.FilterForTabAsync(Project, tab, IssueFilter.None, views, now);
        var page = await _store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = filter, Limit = 100 });
        if (!whole)
        {
            views = await _triage.WithIssuesAsync(Project, views, page.Items.Select(issue => issue.Fingerprint));
        }

        page.TotalCount.Should().Be(page.Items.Count);
        return page.Items.ToDictionary(
            issue => issue.Fingerprint,
            issue => views.GetValueOrDefault(issue.Fingerprint) is { } view ? (view.Status, view.State?.AssigneeId) : (TriageStatus.Unresolved, (Guid?)null));
    }
}
