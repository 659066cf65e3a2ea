using ErrorHub.Storage;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Issue timelines (status changes, assignments, comments, merges): the same answers from every store.</summary>
public abstract partial class StoreContractTests
{
    private static IssueChange Change(string fingerprint, DateTimeOffset at, IssueChangeKind kind = IssueChangeKind.Comment, string text = "looking into it") =>
        new(Project, fingerprint, Guid.NewGuid(), at, kind, Guid.NewGuid(), "Ada") { Text = text };

    [Fact]
    public async Task A_timeline_reads_newest_first_with_who_and_when_and_pages_through_every_entry()
    {
        var history = Store.History;
        var resolved = Change("fp", T0.AddMilliseconds(250), IssueChangeKind.Status, "Resolved") with { Value = "resolved" };
        var assigned = Change("fp", T0.AddMinutes(1), IssueChangeKind.Assignment, "Assigned to Bo") with { Value = Guid.NewGuid().ToString("D"), ActorId = null, ActorName = "" };
        var sameTime = Enumerable.Range(0, 5).Select(_ => Change("fp", T0.AddMinutes(2))).ToList();
        var otherIssue = Change("other", T0.AddMinutes(3));
        var otherProject = Change("fp", T0.AddMinutes(4)) with { ProjectId = Project + 1 };
        foreach (var change in new[] { resolved, assigned, otherIssue, otherProject }.Concat(sameTime))
        {
            await history.AddAsync(change);
        }

        await history.AddAsync(resolved);

        var all = await history.GetChangesAsync(new IssueChangeQuery(Project, "fp") { Limit = 100 });
        all.Next.Should().BeNull();
        all.Items.Should().HaveCount(7, "one entry per id, only this issue's");
        all.Items[^1].Should().Be(resolved, "every field reads back, milliseconds included");
        all.Items[^2].Should().Be(assigned, "an entry without an account reads back without one");
        all.Items.Select(change => change.At).Should().BeInDescendingOrder();

        var paged = new List<IssueChange>();
        IssueChangeCursor? cursor = null;
        do
        {
            var page = await history.GetChangesAsync(new IssueChangeQuery(Project, "fp") { Limit = 2, After = cursor });
            page.Items.Count.Should().BeLessThanOrEqualTo(2);
            paged.AddRange(page.Items);
            cursor = page.Next;
        }
        while (cursor is not null);

        paged.Should().Equal(all.Items, "pages neither repeat nor skip entries, also of the same millisecond");
        (await history.GetChangeAsync(Project, assigned.Id)).Should().Be(assigned);
        (await history.GetChangeAsync(Project + 1, assigned.Id)).Should().BeNull("another project's entry is not found");
    }

    [Fact]
    public async Task A_deleted_entry_leaves_the_timeline_and_hostile_text_survives()
    {
        var history = Store.History;
        var entries = TestEvents.HostileStrings.Select((text, i) => Change("it's \\ \"odd\"", T0.AddSeconds(i), text: text) with { ActorName = text, Value = text }).ToList();
        foreach (var entry in entries)
        {
            await history.AddAsync(entry);
        }

        var read = await history.GetChangesAsync(new IssueChangeQuery(Project, "it's \\ \"odd\"") { Limit = 1000 });
        read.Items.Should().BeEquivalentTo(entries, "every string reads back exactly");

        await history.DeleteAsync(Project, entries[0].Id);
        await history.DeleteAsync(Project, Guid.NewGuid());

        (await history.GetChangeAsync(Project, entries[0].Id)).Should().BeNull();
        (await history.GetChangesAsync(new IssueChangeQuery(Project, "it's \\ \"odd\"") { Limit = 1000 })).Items.Should().HaveCount(entries.Count - 1);

        var tooLong = () => history.AddAsync(Change("fp", T0, text: new string('x', IssueChange.MaxTextLength + 1)));
        await tooLong.Should().ThrowAsync<ArgumentOutOfRangeException>();
        var badLimit = () => history.GetChangesAsync(new IssueChangeQuery(Project, "fp") { Limit = 0 });
        await badLimit.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task A_regression_entry_reads_back_without_an_actor_and_once_however_often_it_is_added()
    {
        var history = Store.History;
        var regression = new IssueChange(Project, "fp", Guid.NewGuid(), T0.AddSeconds(5), IssueChangeKind.Regression, null, "")
        {
            Text = "Regressed in shop@2.5.0: a new event after it was resolved in shop@2.4.2",
            Value = "shop@2.5.0",
        };
        await history.AddAsync(regression);
        await history.AddAsync(regression);
        await history.AddAsync(Change("fp", T0, IssueChangeKind.Status, "Resolved") with { Value = "resolved" });

        var read = await history.GetChangesAsync(new IssueChangeQuery(Project, "fp"));
        read.Items.Should().HaveCount(2);
        read.Items[0].Should().Be(regression, "its kind, text, release and the missing actor read back");
        (await history.GetChangeAsync(Project, regression.Id)).Should().Be(regression);
    }
}
