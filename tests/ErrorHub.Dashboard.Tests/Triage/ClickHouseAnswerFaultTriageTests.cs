using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Dashboard.Triage;
using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using Microsoft.Extensions.Time.Testing;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Triage;

/// <summary>
/// Triage actions (resolve, assign, bulk assign) whose write ClickHouse took but whose answer broke on the way back
/// (cut short or reset, <see cref="ClickHouseFaultProxy"/> on one table's inserts only), then made again with the same
/// action id, as the issue page and the list's "Try again" do: the state and its timeline entry are stored once, the retry
/// succeeds, and a bulk change that stopped partway is finished by its retry with every issue changed once. Until December
/// 2026 a retry after a lost state answer found nothing to change and wrote no timeline entry (the assignment had no "who"),
/// a retry after a lost timeline answer entered the change twice, and a resolution's time moved to the retry's.
/// </summary>
public sealed class ClickHouseAnswerFaultTriageTests : IAsyncLifetime
{
    private const int Project = 1;
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    private static readonly string[] Issues = [Fingerprint("checkout"), Fingerprint("cart"), Fingerprint("login")];
    private static readonly IssueActor Ada = new(TemporaryStore.Admin.Id, "Ada Admin");

    private readonly FaultedClickHouseStore _clickHouse = new();
    private readonly FakeTimeProvider _clock = new(Start);
    private IssueTriage _triage = null!;

    public static TheoryData<ClickHouseFault> AnswerBreaksAfterTheInsert => [ClickHouseFault.TruncatedBody, ClickHouseFault.ResetMidAnswer];

    private ClickHouseFaultProxy Proxy => _clickHouse.Proxy;

    private ErrorHubStore Store => _clickHouse.Store;

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>The store behind a proxy answering <paramref name="fault"/> to the requests <see cref="ClickHouseFaultProxy.FaultOnly"/> picks (none yet).</summary>
    private async Task StartAsync(ClickHouseFault fault)
    {
        await _clickHouse.StartAsync("triagefault", [.. Issues.Select(issue => Create(Project, issue, Start.AddMinutes(-5)))], armed: fault);
        _triage = new IssueTriage(Store.Notifications.States, Store.Notifications.Activity, Store.Issues, Store.History, Store.Access, _clock, releases: Store.Releases);
    }

    public async Task DisposeAsync() => await _clickHouse.DisposeAsync();

    [Theory]
    [MemberData(nameof(AnswerBreaksAfterTheInsert))]
    public async Task A_resolution_whose_timeline_answer_broke_is_entered_once_when_made_again(ClickHouseFault fault)
    {
        await StartAsync(fault);
        var action = Guid.NewGuid();
        Proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_history");
        await FluentActions.Awaiting(() => _triage.ResolveAsync(Project, Issues[0], by: Ada, actionId: action)).Should().ThrowAsync<Exception>("the answer broke");
        Proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        (await EntriesAsync(Issues[0])).Should().ContainSingle("ClickHouse took the entry before its answer broke");

        await _triage.ResolveAsync(Project, Issues[0], by: Ada, actionId: action);

        (await EntriesAsync(Issues[0])).Select(entry => (entry.Kind, entry.Text, entry.ActorName)).Should().Equal([(IssueChangeKind.Status, "Resolved", "Ada Admin")], "made again, it is entered once");
        (await _triage.EvaluateAsync(Project, Issues[0])).Status.Should().Be(TriageStatus.Resolved);
    }

    [Theory]
    [MemberData(nameof(AnswerBreaksAfterTheInsert))]
    public async Task A_resolution_whose_state_answer_broke_keeps_its_time_and_gets_its_entry_when_made_again(ClickHouseFault fault)
    {
        await StartAsync(fault);
        var action = Guid.NewGuid();
        Proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_states");
        await FluentActions.Awaiting(() => _triage.ResolveAsync(Project, Issues[0], by: Ada, actionId: action)).Should().ThrowAsync<Exception>();
        Proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        (await Store.Notifications.States.GetStateAsync(Project, Issues[0]))!.Status.Should().Be(IssueStatus.Resolved, "ClickHouse took the state");
        (await EntriesAsync(Issues[0])).Should().BeEmpty("the entry is written after the state's answer");

        _clock.Advance(TimeSpan.FromMinutes(3));
        await _triage.ResolveAsync(Project, Issues[0], by: Ada, actionId: action);

        (await Store.Notifications.States.GetStateAsync(Project, Issues[0]))!.ChangedAt.Should().Be(Start, "the issue was resolved when the store took it; an event since then regresses it");
        (await EntriesAsync(Issues[0])).Select(entry => (entry.Kind, entry.ActorName)).Should().Equal([(IssueChangeKind.Status, "Ada Admin")]);
    }

    [Theory]
    [MemberData(nameof(AnswerBreaksAfterTheInsert))]
    public async Task An_assignment_whose_state_answer_broke_gets_its_entry_with_who_when_made_again(ClickHouseFault fault)
    {
        await StartAsync(fault);
        var action = Guid.NewGuid();
        Proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_states");
        await FluentActions.Awaiting(() => _triage.AssignAsync(Project, Issues[0], TemporaryStore.Admin.Id, Ada, action)).Should().ThrowAsync<Exception>();
        Proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        (await Store.Notifications.States.GetStateAsync(Project, Issues[0]))!.AssigneeId.Should().Be(TemporaryStore.Admin.Id, "ClickHouse took the state");

        await _triage.AssignAsync(Project, Issues[0], TemporaryStore.Admin.Id, Ada, action);

        (await EntriesAsync(Issues[0])).Select(entry => (entry.Kind, entry.Text, entry.ActorName)).Should().Equal(
            [(IssueChangeKind.Assignment, "Assigned to Ada Admin", "Ada Admin")], "the activity says who assigned it, once");
    }

    [Theory]
    [MemberData(nameof(AnswerBreaksAfterTheInsert))]
    public async Task A_bulk_assignment_that_stopped_at_a_lost_answer_is_finished_by_its_retry_with_each_issue_changed_and_entered_once(ClickHouseFault fault)
    {
        await StartAsync(fault);
        var action = Guid.NewGuid();
        var stateInserts = 0;
        var reached = 0;

        // The second issue's state insert is taken and its answer lost.
        Proxy.FaultOnly = head => ClickHouseFaultProxy.InsertsInto("issue_states")(head) && Interlocked.Increment(ref stateInserts) == 2;
        await FluentActions.Awaiting(() => _triage.AssignManyAsync(Project, Issues, TemporaryStore.Admin.Id, Ada, done => reached = done, action)).Should().ThrowAsync<Exception>();
        Proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
        reached.Should().Be(1, "the first issue was assigned and answered");

        (await _triage.AssignManyAsync(Project, [.. Issues.Skip(reached)], TemporaryStore.Admin.Id, Ada, actionId: action)).Should().Be(2, "the retry changed the issue whose answer was lost and the last one");

        foreach (var issue in Issues)
        {
            (await Store.Notifications.States.GetStateAsync(Project, issue))!.AssigneeId.Should().Be(TemporaryStore.Admin.Id);
            (await EntriesAsync(issue)).Select(entry => (entry.Kind, entry.ActorName)).Should().Equal([(IssueChangeKind.Assignment, "Ada Admin")], $"{issue} is entered once");
        }
    }

    private async Task<IReadOnlyList<IssueChange>> EntriesAsync(string issue) =>
        (await Store.History.GetChangesAsync(new IssueChangeQuery(Project, issue))).Items;
}
