using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Who hears about an issue's workflow and why (issue participants and subscriptions).</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task The_first_implied_reason_stays_and_a_choice_by_hand_wins_over_later_participation()
    {
        var outbox = Store.Notifications.Outbox;
        Guid ana = Guid.NewGuid(), ben = Guid.NewGuid(), cy = Guid.NewGuid();
        (await outbox.GetSubscriptionsAsync(Project, ["fp-a"])).Should().BeEmpty("nobody took part yet");

        await outbox.AddParticipantsAsync([
            new IssueSubscription(Project, "fp-a", ana, true, SubscriptionReason.Commented, T0),
            new IssueSubscription(Project, "fp-a", ben, true, SubscriptionReason.Mentioned, T0),
        ]);
        await outbox.AddParticipantsAsync([new IssueSubscription(Project, "fp-a", ana, true, SubscriptionReason.StatusChanged, T0.AddMinutes(1))]);
        (await Of(ana)).Should().Be(new IssueSubscription(Project, "fp-a", ana, true, SubscriptionReason.Commented, T0), "the first reason stays");

        await outbox.SetSubscriptionAsync(new IssueSubscription(Project, "fp-a", ana, false, SubscriptionReason.Manual, T0.AddMinutes(2)));
        await outbox.AddParticipantsAsync([new IssueSubscription(Project, "fp-a", ana, true, SubscriptionReason.Commented, T0.AddMinutes(3))]);
        (await Of(ana)).Should().Be(new IssueSubscription(Project, "fp-a", ana, false, SubscriptionReason.Manual, T0.AddMinutes(2)), "an unsubscribe by hand wins over commenting later");

        await outbox.SetSubscriptionAsync(new IssueSubscription(Project, "fp-a", ana, true, SubscriptionReason.Manual, T0.AddMinutes(4)));
        (await Of(ana))!.IsSubscribed.Should().BeTrue("the latest choice by hand wins");

        await outbox.SetSubscriptionAsync(new IssueSubscription(Project, "fp-a", cy, true, SubscriptionReason.Manual, T0.AddMinutes(5)));
        await outbox.AddParticipantsAsync([new IssueSubscription(Project, "fp-a", cy, true, SubscriptionReason.Assigned, T0.AddMinutes(6))]);
        (await Of(cy))!.Reason.Should().Be(SubscriptionReason.Manual);
        (await Of(ben))!.Reason.Should().Be(SubscriptionReason.Mentioned);

        async Task<IssueSubscription?> Of(Guid user) =>
            (await outbox.GetSubscriptionsAsync(Project, ["fp-a"])).SingleOrDefault(subscription => subscription.UserId == user);
    }

    [Fact]
    public async Task Subscriptions_are_per_project_and_issue_and_read_for_many_issues_at_once()
    {
        var outbox = Store.Notifications.Outbox;
        var ana = Guid.NewGuid();
        var hostile = TestEvents.HostileStrings.Where(h => h.Length > 0).ToList();
        var fingerprints = Enumerable.Range(0, 600).Select(i => "fp-" + i).Concat(hostile).ToList();
        await outbox.AddParticipantsAsync([.. fingerprints.Select(fp => new IssueSubscription(Project, fp, ana, true, SubscriptionReason.StatusChanged, T0))]);
        await outbox.SetSubscriptionAsync(new IssueSubscription(Project + 1, "fp-1", ana, false, SubscriptionReason.Manual, T0));

        var all = await outbox.GetSubscriptionsAsync(Project, fingerprints);
        all.Select(subscription => subscription.Fingerprint).Should().BeEquivalentTo(fingerprints, "a bulk action's issues are read in one call, hostile fingerprints too");
        all.Should().OnlyContain(subscription => subscription.IsSubscribed && subscription.Reason == SubscriptionReason.StatusChanged && subscription.UserId == ana);
        (await outbox.GetSubscriptionsAsync(Project + 1, ["fp-1", "fp-2"])).Should().ContainSingle().Which.IsSubscribed.Should().BeFalse("subscriptions are per project");
        (await outbox.GetSubscriptionsAsync(Project, [])).Should().BeEmpty();
    }

    [Fact]
    public async Task A_deleted_project_s_subscriptions_and_bookmarks_are_removed_and_other_projects_keep_theirs()
    {
        var outbox = Store.Notifications.Outbox;
        var ana = Guid.NewGuid();
        foreach (var project in new[] { Project, Project + 1 })
        {
            await outbox.AddParticipantsAsync([new IssueSubscription(project, "fp-a", ana, true, SubscriptionReason.Commented, T0)]);
            await outbox.SetSubscriptionAsync(new IssueSubscription(project, "it's \\ 'quoted'", ana, false, SubscriptionReason.Manual, T0));
            await Store.Bookmarks.SetBookmarksAsync(project, ana, ["fp-a", "fp-b"], bookmarked: true, T0);
        }

        await outbox.DeleteSubscriptionsAsync(Project);
        await Store.Bookmarks.DeleteBookmarksAsync(Project);

        (await outbox.GetSubscriptionsAsync(Project, ["fp-a", "it's \\ 'quoted'"])).Should().BeEmpty("gone once the call answers");
        (await Store.Bookmarks.GetBookmarksAsync(Project, ana)).Should().BeEmpty();
        (await outbox.GetSubscriptionsAsync(Project + 1, ["fp-a", "it's \\ 'quoted'"])).Should().HaveCount(2, "another project keeps its own");
        (await Store.Bookmarks.GetBookmarksAsync(Project + 1, ana)).Should().BeEquivalentTo(["fp-a", "fp-b"]);

        await outbox.AddParticipantsAsync([new IssueSubscription(Project, "fp-a", ana, true, SubscriptionReason.Assigned, T0.AddMinutes(1))]);
        (await outbox.GetSubscriptionsAsync(Project, ["fp-a"])).Should().ContainSingle().Which.Reason.Should().Be(SubscriptionReason.Assigned, "nothing of the old rows is left to win over a new one");
        await outbox.DeleteSubscriptionsAsync(Project + 7); // a project with none: nothing to do, no error
    }
}

