using ErrorHub.Storage;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>A state's triage details stored by an older server or edited by hand: what reads is kept.</summary>
public abstract partial class StoreContractTests
{
    /// <summary>Replaces the stored triage details of an issue's state with <paramref name="json"/>, as a hand edit in the store would.</summary>
    private protected abstract Task ReplaceStoredTriageAsync(int projectId, string fingerprint, string json);

    [Fact]
    public async Task A_state_whose_stored_details_have_a_value_of_another_type_keeps_its_assignee_ignore_and_timeline()
    {
        var assignee = Guid.NewGuid();
        var comment = new IssueChange(Project, "fp", Guid.NewGuid(), T0.AddMinutes(1), IssueChangeKind.Comment, assignee, "Ana") { Text = "Looked at it: the bundle's stock is stale." };
        var state = new IssueState(Project, "fp", IssueStatus.Ignored, T0)
        {
            IgnoredUntil = T0.AddHours(5),
            IgnoredUntilEvents = 100,
            AssigneeId = assignee,
            Entries = new IssueEntries([comment]),
        };
        await Store.Notifications.States.SetStateAsync(state);
        var stored = IssueTriageJson.Serialize(state);
        stored.Should().Contain("\"ignoredUntilEvents\":100").And.Contain("\"entries\":[");

        // A count as text, entries that are no entries, a field this server does not know.
        await ReplaceStoredTriageAsync(Project, "fp", stored
            .Replace("\"ignoredUntilEvents\":100", "\"ignoredUntilEvents\":\"a hundred\",\"theme\":\"dark\"", StringComparison.Ordinal)
            .Replace("\"entries\":[", "\"entries\":[null,5,\"note\",", StringComparison.Ordinal));

        // Until December 2026 one such value dropped all the details: no assignee, no ignore conditions, no timeline.
        var read = await Store.Notifications.States.GetStateAsync(Project, "fp");
        read.Should().NotBeNull();
        read!.Status.Should().Be(IssueStatus.Ignored);
        read.AssigneeId.Should().Be(assignee);
        read.IgnoredUntil.Should().Be(T0.AddHours(5));
        read.IgnoredUntilEvents.Should().BeNull("a count that is no number is no condition");
        read.Entries.Should().ContainSingle().Which.Text.Should().Be(comment.Text);
        (await Store.Notifications.States.GetAssignedOrTimedStatesAsync(Project)).Should().ContainSingle().Which.AssigneeId.Should().Be(assignee);

        // Not JSON at all: the status stays, without details.
        await ReplaceStoredTriageAsync(Project, "fp", "{\"assigneeId\": ");
        (await Store.Notifications.States.GetStateAsync(Project, "fp"))!.Status.Should().Be(IssueStatus.Ignored);
    }
}
