using ErrorHub.Dashboard.Triage;
using ErrorHub.Notifications;
using ErrorHub.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Triage;

/// <summary>
/// Bulk changes and merges from the issue list, with notifications on (the dashboard's own services over a real SQLite
/// file): the same state and timeline entry per issue as a single change, mail that does not flood anyone, mail for what a
/// change that failed partway did change, and a merge's mail to the merged issues' participants.
/// </summary>
public sealed class BulkAssignMailTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2025, 6, 2, 12, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("errorhub-bulk-assign-");
    private readonly FakeTimeProvider _clock = new(Start);
    private ServiceProvider _services = null!;
    private IssueTriage _triage = null!;
    private Project _shop = null!;
    private UserAccount _ana = null!;
    private UserAccount _ben = null!;

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ErrorHub:PublicUrl"] = "https://errors.example.com/",
            ["ErrorHub:Store:Sqlite:Path"] = Path.Combine(_directory.FullName, "errorhub.db"),
            ["ErrorHub:Notifications:Smtp:Host"] = "127.0.0.1",
            ["ErrorHub:Notifications:Smtp:From"] = "errors@example.com",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<TimeProvider>(_clock);
        services.AddErrorHubNotifications(configuration);
        _services = services.BuildServiceProvider();
        await _services.GetRequiredService<IStoreSchema>().EnsureSchemaAsync();

        var access = _services.GetRequiredService<IAccessStore>();
        _shop = await _services.GetRequiredService<IProjectStore>().CreateProjectAsync("shop", Guid.NewGuid().ToString("N"), Start.AddDays(-30));
        _ana = new UserAccount(Guid.NewGuid(), "ana@example.com", "Ana", "hash", UserRole.Member, "stamp-a", Start.AddDays(-30));
        _ben = new UserAccount(Guid.NewGuid(), "ben@example.com", "Ben", "hash", UserRole.Member, "stamp-b", Start.AddDays(-30));
        foreach (var user in new[] { _ana, _ben })
        {
            await access.CreateUserAsync(user);
            await access.AddMemberAsync(_shop.Id, user.Id);
        }

        await _services.GetRequiredService<IEventWriter>().InsertEventsAsync([.. Issues.Select(fingerprint => Create(_shop.Id, fingerprint, Start.AddMinutes(-5)))]);
        _triage = new IssueTriage(
            _services.GetRequiredService<IIssueStates>(), _services.GetRequiredService<IIssueActivity>(), _services.GetRequiredService<IIssueReader>(),
            _services.GetRequiredService<IIssueHistory>(), access, _clock, _services.GetRequiredService<WorkflowMail>());
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A pooled connection may still hold the file for a moment.
        }
    }

    private static readonly IReadOnlyList<string> Issues = [.. Enumerable.Range(0, 14).Select(i => Fingerprint($"bulk-{i:D2}"))];

    private async Task<IReadOnlyList<Notification>> OutboxAsync() =>
        await _services.GetRequiredService<INotificationStore>().GetNotificationsAsync(_shop.Id, 1000);

    [Fact]
    public async Task A_few_issues_are_mailed_one_by_one_and_many_in_one_summary_and_each_gets_its_timeline_entry()
    {
        var by = new IssueActor(_ana.Id, "Ana");

        (await _triage.AssignManyAsync(_shop.Id, [.. Issues.Take(3)], _ben.Id, by)).Should().Be(3);
        (await OutboxAsync()).Should().HaveCount(3).And.OnlyContain(mail => mail.Fingerprint != null && mail.TextBody.Contains("Ana assigned you an issue", StringComparison.Ordinal),
            "up to ten issues, each is mailed as a single assignment is (in the issue's own thread)");

        (await _triage.AssignManyAsync(_shop.Id, Issues, _ben.Id, by)).Should().Be(11, "the three already Ben's are left alone");
        var outbox = await OutboxAsync();
        outbox.Should().HaveCount(4, "eleven more issues are one summary mail, not eleven");
        var summary = outbox.Single(mail => mail.Fingerprint is null);
        summary.Subject.Should().Be("[shop] Ana assigned you 11 issues");
        summary.Recipients.Should().Equal("ben@example.com");
        summary.TextBody.Should().Contain("The first 10 of them").And.Contain($"projects/{_shop.Id}/issues/{Issues[3]}").And.NotContain(Issues[13]);

        foreach (var fingerprint in Issues)
        {
            (await _services.GetRequiredService<IIssueStates>().GetStateAsync(_shop.Id, fingerprint))!.AssigneeId.Should().Be(_ben.Id);
            var changes = (await _services.GetRequiredService<IIssueHistory>().GetChangesAsync(new IssueChangeQuery(_shop.Id, fingerprint))).Items;
            changes.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Kind = IssueChangeKind.Assignment, Text = "Assigned to Ben", ActorName = "Ana" });
        }

        (await _triage.AssignManyAsync(_shop.Id, Issues, null, by)).Should().Be(14);
        (await OutboxAsync()).Should().HaveCount(4, "unassigning mails nobody");
    }

    [Fact]
    public async Task A_bulk_resolve_mails_each_participant_once_and_a_single_resolve_mails_about_the_issue()
    {
        var by = new IssueActor(_ana.Id, "Ana");
        var workflow = _services.GetRequiredService<WorkflowMail>();
        foreach (var fingerprint in Issues)
        {
            await workflow.SetSubscribedAsync(_shop.Id, fingerprint, _ben.Id, true);
        }

        await _triage.ChangeManyAsync(_shop.Id, Issues, IssueStatus.Resolved, by: by);
        var summary = (await OutboxAsync()).Should().ContainSingle("one mail for the bulk resolve of 14 issues Ben follows").Subject;
        summary.Subject.Should().Be("[shop] Ana resolved 14 issues you follow");
        summary.Recipients.Should().Equal("ben@example.com");

        await _triage.ReopenAsync(_shop.Id, Issues[0], by);
        var reopened = (await OutboxAsync()).Where(mail => mail.Id != summary.Id).Should().ContainSingle().Subject;
        reopened.Fingerprint.Should().Be(Issues[0], "a single change is mailed about its issue, in its thread");
        reopened.TextBody.Should().StartWith("Ana reopened an issue");
        foreach (var fingerprint in Issues)
        {
            (await workflow.GetSubscriptionAsync(_shop.Id, fingerprint, _ana.Id))!.Reason.Should().Be(SubscriptionReason.StatusChanged, "who changed an issue takes part in it");
        }
    }

    [Fact]
    public async Task A_bulk_resolve_the_store_stops_partway_mails_what_it_changed_and_the_retry_mails_only_the_rest()
    {
        var by = new IssueActor(_ana.Id, "Ana");
        var workflow = _services.GetRequiredService<WorkflowMail>();
        foreach (var fingerprint in Issues)
        {
            await workflow.SetSubscribedAsync(_shop.Id, fingerprint, _ben.Id, true);
        }

        // The real store refuses the sixth issue's state, as a full disk would.
        await ExecuteSqlAsync($"""
            CREATE TRIGGER refuse_one BEFORE INSERT ON issue_states WHEN NEW.fingerprint = '{Issues[5]}'
            BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END
            """);
        var reached = 0;
        await FluentActions.Awaiting(() => _triage.ChangeManyAsync(_shop.Id, Issues, IssueStatus.Resolved, by: by, progress: done => reached = done))
            .Should().ThrowAsync<Exception>();
        reached.Should().Be(5);
        var first = (await OutboxAsync()).Should().ContainSingle("what was resolved is mailed, once per person, as a whole change is").Subject;
        first.Subject.Should().Be("[shop] Ana resolved 5 issues you follow");
        first.TextBody.Should().Contain($"projects/{_shop.Id}/issues/{Issues[4]}").And.NotContain(Issues[5]);

        await ExecuteSqlAsync("DROP TRIGGER refuse_one");
        await _triage.ChangeManyAsync(_shop.Id, [.. Issues.Skip(reached)], IssueStatus.Resolved, by: by);
        var retry = (await OutboxAsync()).Where(mail => mail.Id != first.Id).Should().ContainSingle().Subject;
        retry.Subject.Should().Be("[shop] Ana resolved 9 issues you follow", "the retry mails what it changed, not the first five again");
        retry.TextBody.Should().Contain(Issues[5]).And.NotContain(Issues[4]);

        // A single change that fails mails nobody: nothing changed.
        await ExecuteSqlAsync($"""
            CREATE TRIGGER refuse_all BEFORE INSERT ON issue_states
            BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END
            """);
        await FluentActions.Awaiting(() => _triage.ReopenAsync(_shop.Id, Issues[0], by)).Should().ThrowAsync<Exception>();
        (await OutboxAsync()).Should().HaveCount(2);
    }

    [Fact]
    public async Task A_merge_mails_the_merged_issues_participants_in_the_target_s_thread_and_not_who_merged()
    {
        var workflow = _services.GetRequiredService<WorkflowMail>();
        await workflow.SetSubscribedAsync(_shop.Id, Issues[1], _ben.Id, true);
        await workflow.SetSubscribedAsync(_shop.Id, Issues[2], _ana.Id, true);
        var merging = new IssueMerging(
            _services.GetRequiredService<IIssueMerges>(), _services.GetRequiredService<IIssueReader>(), _services.GetRequiredService<IIssueHistory>(),
            _triage, new IssueMergeFeed(), _clock, workflow);

        (await merging.MergeAsync(_shop.Id, Issues[0], [Issues[1], Issues[2]], new IssueActor(_ana.Id, "Ana"))).Should().BeNull();

        var mail = (await OutboxAsync()).Should().ContainSingle("Ben hears of it; Ana merged").Subject;
        mail.Recipients.Should().Equal("ben@example.com");
        mail.Fingerprint.Should().Be(Issues[0], "in the target's thread");
        mail.TextBody.Should().StartWith("Ana merged 2 issues into ");
        (await workflow.GetSubscriptionAsync(_shop.Id, Issues[0], _ben.Id))!.IsSubscribed.Should().BeTrue("Ben now follows the target");
        (await workflow.GetSubscriptionAsync(_shop.Id, Issues[0], _ana.Id))!.IsSubscribed.Should().BeTrue();
    }

    private async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory.FullName, "errorhub.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
