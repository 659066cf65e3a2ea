using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// The reads that name what they need of a project's states and timeline (the digest's resolved issues of a day, the releases
/// page's resolved issues of its releases, one change's entry of an issue), answered alike by every store.
/// </summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task The_states_changed_in_a_window_are_those_of_the_status_changed_from_its_start_to_before_its_end()
    {
        var states = Store.Notifications.States;
        var before = new IssueState(Project, "fp-before", IssueStatus.Resolved, T0.AddSeconds(-1));
        var atStart = new IssueState(Project, "fp-start", IssueStatus.Resolved, T0);
        var inside = new IssueState(Project, "fp-inside", IssueStatus.Resolved, T0.AddMinutes(30)) { ResolvedAfterRelease = "shop@1.0", AssigneeId = Guid.NewGuid() };
        var atEnd = new IssueState(Project, "fp-end", IssueStatus.Resolved, T0.AddHours(1));
        var ignored = new IssueState(Project, "fp-ignored", IssueStatus.Ignored, T0.AddMinutes(10));
        var elsewhere = new IssueState(Project + 1, "fp-inside", IssueStatus.Resolved, T0.AddMinutes(30));
        await states.SetStatesAsync([before, atStart, inside, atEnd, ignored, elsewhere]);

        // Resolved in the window, then reopened, or resolved again after it: the latest state is the one judged.
        await states.SetStateAsync(new IssueState(Project, "fp-reopened", IssueStatus.Resolved, T0.AddMinutes(5)));
        await states.SetStateAsync(new IssueState(Project, "fp-reopened", IssueStatus.Unresolved, T0.AddMinutes(6)));
        await states.SetStateAsync(new IssueState(Project, "fp-again", IssueStatus.Resolved, T0.AddMinutes(5)));
        await states.SetStateAsync(new IssueState(Project, "fp-again", IssueStatus.Resolved, T0.AddHours(2)));

        (await states.GetStatesChangedAsync(Project, IssueStatus.Resolved, T0, T0.AddHours(1)))
            .Should().Equal([inside, atStart], "from the window's start to before its end, by fingerprint, whole");
        (await states.GetStatesChangedAsync(Project, IssueStatus.Ignored, T0, T0.AddHours(1))).Should().Equal(ignored);
        (await states.GetStatesChangedAsync(Project, IssueStatus.Resolved, T0.AddMilliseconds(1), T0.AddMinutes(30).AddMilliseconds(1)))
            .Should().Equal([inside], "a change at a whole second is before a window starting within that second, and in one ending within it");
        (await states.GetStatesChangedAsync(Project, IssueStatus.Resolved, T0.AddHours(3), T0.AddHours(4))).Should().BeEmpty();
    }

    [Fact]
    public async Task The_states_resolved_for_releases_are_the_resolved_ones_naming_one_of_them_in_or_after()
    {
        var states = Store.Notifications.States;
        var hostile = TestEvents.HostileStrings.First(s => s.Length > 0 && s.Contains('\'', StringComparison.Ordinal));
        var inRelease = new IssueState(Project, "fp-in", IssueStatus.Resolved, T0) { ResolvedInRelease = "shop@2.0" };
        var afterRelease = new IssueState(Project, "fp-after", IssueStatus.Resolved, T0) { ResolvedAfterRelease = "shop@1.9", AssigneeId = Guid.NewGuid() };
        var otherRelease = new IssueState(Project, "fp-other", IssueStatus.Resolved, T0) { ResolvedInRelease = "shop@3.0" };
        var noRelease = new IssueState(Project, "fp-plain", IssueStatus.Resolved, T0);
        var hostileRelease = new IssueState(Project, "fp-hostile", IssueStatus.Resolved, T0) { ResolvedAfterRelease = hostile };
        var elsewhere = new IssueState(Project + 1, "fp-in", IssueStatus.Resolved, T0) { ResolvedInRelease = "shop@2.0" };
        await states.SetStatesAsync([inRelease, afterRelease, otherRelease, noRelease, hostileRelease, elsewhere]);
        await states.SetStateAsync(new IssueState(Project, "fp-reopened", IssueStatus.Resolved, T0) { ResolvedInRelease = "shop@2.0" });
        await states.SetStateAsync(new IssueState(Project, "fp-reopened", IssueStatus.Unresolved, T0.AddMinutes(1)));

        (await states.GetStatesResolvedForReleasesAsync(Project, ["shop@2.0", "shop@1.9"]))
            .Should().Equal([afterRelease, inRelease], "resolved in one, or in the release after one, by fingerprint; a reopened issue is not");
        (await states.GetStatesResolvedForReleasesAsync(Project, [hostile])).Should().Equal(hostileRelease);
        (await states.GetStatesResolvedForReleasesAsync(Project, ["shop@9.9"])).Should().BeEmpty();
        (await states.GetStatesResolvedForReleasesAsync(Project, [])).Should().BeEmpty();
        (await states.GetStatesResolvedForReleasesAsync(Project, [""])).Should().BeEmpty("no release is not a release");
    }

    [Fact]
    public async Task The_releases_resolved_after_are_those_the_resolved_states_name_for_the_next_release_each_once()
    {
        var states = Store.Notifications.States;
        var hostile = TestEvents.HostileStrings.First(s => s.Length > 0 && s.Contains('"', StringComparison.Ordinal));
        var backslash = TestEvents.HostileStrings.First(s => s.Length > 0 && s.Contains('\\', StringComparison.Ordinal) && s != hostile);
        await states.SetStatesAsync(
        [
            new IssueState(Project, "fp-backslash", IssueStatus.Resolved, T0) { ResolvedAfterRelease = backslash },
            new IssueState(Project, "fp-a", IssueStatus.Resolved, T0) { ResolvedAfterRelease = "shop@2.4.1" },
            new IssueState(Project, "fp-b", IssueStatus.Resolved, T0) { ResolvedAfterRelease = "shop@2.4.1", AssigneeId = Guid.NewGuid() },
            new IssueState(Project, "fp-c", IssueStatus.Resolved, T0) { ResolvedAfterRelease = "api@1.0" },
            new IssueState(Project, "fp-hostile", IssueStatus.Resolved, T0) { ResolvedAfterRelease = hostile },
            new IssueState(Project, "fp-in", IssueStatus.Resolved, T0) { ResolvedInRelease = "shop@9.0" },
            new IssueState(Project, "fp-plain", IssueStatus.Resolved, T0),
            new IssueState(Project, "fp-ignored", IssueStatus.Ignored, T0),
            new IssueState(Project + 1, "fp-a", IssueStatus.Resolved, T0) { ResolvedAfterRelease = "other@1.0" },
        ]);

        // Resolved in the next release, then reopened: the latest state names no release.
        await states.SetStateAsync(new IssueState(Project, "fp-reopened", IssueStatus.Resolved, T0) { ResolvedAfterRelease = "shop@1.0" });
        await states.SetStateAsync(new IssueState(Project, "fp-reopened", IssueStatus.Unresolved, T0.AddMinutes(1)));

        (await states.GetReleasesResolvedAfterAsync(Project)).Should().Equal(
            new[] { "api@1.0", "shop@2.4.1", hostile, backslash }.Order(StringComparer.Ordinal),
            "each release a resolved state names for the next release, once, read back as written; not a release resolved in, nor a reopened issue's, nor another project's");
        (await states.GetReleasesResolvedAfterAsync(Project + 2)).Should().BeEmpty();
    }

    [Fact]
    public async Task An_entry_is_found_by_its_issue_and_id_and_not_under_another_issue()
    {
        var history = Store.History;
        var entry = Change("fp", T0, IssueChangeKind.Status, "Resolved") with { Value = "resolved" };
        var other = Change("other", T0.AddMinutes(1));
        await history.AddAsync(entry);
        await history.AddAsync(other);
        await history.AddAsync(entry with { ProjectId = Project + 1, Fingerprint = "fp" });

        (await history.GetChangeAsync(Project, "fp", entry.Id)).Should().Be(entry);
        (await history.GetChangeAsync(Project, "other", entry.Id)).Should().BeNull("the entry is another issue's");
        (await history.GetChangeAsync(Project, "fp", other.Id)).Should().BeNull();
        (await history.GetChangeAsync(Project + 2, "fp", entry.Id)).Should().BeNull("another project's entry is not found");

        await history.DeleteAsync(Project, entry.Id);
        (await history.GetChangeAsync(Project, "fp", entry.Id)).Should().BeNull("a deleted entry is gone");
        (await history.GetChangeAsync(Project + 1, "fp", entry.Id)).Should().Be(entry with { ProjectId = Project + 1 }, "deleting one project's entry leaves another's");
    }
}
