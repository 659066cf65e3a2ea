using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Dashboard.Triage;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.Time.Testing;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Triage;

/// <summary>A resolved issue's regression in its timeline, over the real SQLite store and a fake clock.</summary>
public sealed class IssueTimelineTests : IAsyncLifetime
{
    private const int Project = 1;
    private static readonly DateTimeOffset Start = new(2025, 6, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Checkout = Fingerprint("checkout");

    private readonly TemporaryStore _store = new();
    private readonly FakeTimeProvider _clock = new(Start);
    private IssueTriage _triage = null!;
    private IssueTimeline _timeline = null!;

    public async Task InitializeAsync()
    {
        await _store.SeedAsync([TestProjects.Shop], [Release(Start.AddHours(-2), "shop@2.4.1")]);
        _triage = new IssueTriage(_store.Store.Notifications.States, _store.Store.Notifications.Activity, _store.Store.Issues, _store.Store.History, _store.Store.Access, _clock, releases: _store.Store.Releases);
        _timeline = new IssueTimeline(_store.Store.History, _triage, _clock);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        return Task.CompletedTask;
    }

    private static ErrorEvent Release(DateTimeOffset at, string? release, string user = "u") =>
        Create(Project, Checkout, at, User(user)) with { Release = release };

    private Task AddAsync(params ErrorEvent[] events) => _store.Store.Events.InsertEventsAsync(events);

    private async Task<List<IssueChange>> RegressionsAsync() =>
        [.. (await _timeline.GetAsync(Project, Checkout, limit: 100)).Items.Where(entry => entry.Kind == IssueChangeKind.Regression)];

    [Fact]
    public async Task A_regression_is_one_entry_per_resolution_at_the_time_of_the_event_that_brought_the_issue_back()
    {
        await _triage.ResolveAsync(Project, Checkout, inRelease: "shop@2.4.2");
        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(Release(Start.AddMinutes(2), "shop@2.4.1", "old"));
        (await RegressionsAsync()).Should().BeEmpty("an event of an older release does not reopen an issue resolved in a newer one");

        await AddAsync(Release(Start.AddMinutes(5), "shop@2.5.0"), Release(Start.AddMinutes(7), "shop@2.5.0", "other"));
        var first = await RegressionsAsync();
        first.Should().ContainSingle().Which.Should().BeEquivalentTo(new
        {
            At = Start.AddMinutes(5),
            ActorId = (Guid?)null,
            ActorName = "",
            Text = "Regressed in shop@2.5.0: a new event after it was resolved in shop@2.4.2",
            Value = "shop@2.5.0",
        });
        (await RegressionsAsync()).Should().Equal(first, "read again, the timeline does not add the regression twice");

        // Resolved again, and back again: a second entry; the first one stays.
        _clock.Advance(TimeSpan.FromMinutes(10));
        await _triage.ResolveAsync(Project, Checkout);
        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(Release(Start.AddMinutes(25), null));
        var second = await RegressionsAsync();
        second.Should().HaveCount(2);
        second[0].Text.Should().Be("Regressed: a new event after it was resolved", "an event without a release after a resolution without one");
        second[1].Should().Be(first[0]);

        (await _timeline.GetAsync(Project, Checkout, limit: 100)).Items.Should().Contain(entry => entry.Kind == IssueChangeKind.Status, "the people's changes stay beside it");
    }

    [Fact]
    public async Task Resolved_for_the_next_release_the_entry_names_the_release_it_was_resolved_after()
    {
        await _triage.ResolveAsync(Project, Checkout, afterRelease: "shop@2.4.1");
        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(Release(Start.AddMinutes(3), "shop@2.4.1"), Release(Start.AddMinutes(4), "shop@2.4.2"));

        (await RegressionsAsync()).Should().ContainSingle().Which.Text.Should().Be("Regressed in shop@2.4.2: a new event after it was resolved for the release after shop@2.4.1");
    }

    [Fact]
    public async Task An_issue_that_is_resolved_and_quiet_or_reopened_by_hand_gets_no_regression_entry()
    {
        await _triage.ResolveAsync(Project, Checkout);
        _clock.Advance(TimeSpan.FromMinutes(10));
        (await RegressionsAsync()).Should().BeEmpty();

        await _triage.ReopenAsync(Project, Checkout);
        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(Release(Start.AddMinutes(15), "shop@2.4.2"));
        (await RegressionsAsync()).Should().BeEmpty("an unresolved issue's new events are no regression");
    }
}
