using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// A round whose store stops answering part-way (ClickHouse: reads of the alert settings stalled past RequestTimeout;
/// SQLite: another process holds the write lock past the busy timeout) ends at the first failure, instead of waiting out
/// the same timeout for every other project and holding the worker for minutes; once the store answers, every project's
/// mail arrives once. Until December 2026 a round tried every project in turn, each waiting out the timeout.
/// </summary>
public abstract class RoundEndsAtStoreFailureTests(SmtpServerFixture smtp) : HarnessTests(smtp)
{
    private const int Projects = 3;
    private const string GivenUp = "the store is not answering. The round ends here";

    // Well above a round that waits out one store timeout (3 s on ClickHouse, 30 s on SQLite), on a loaded 2-core machine.
    private static readonly TimeSpan RoundBound = TimeSpan.FromMinutes(4);

    /// <summary>The store stops answering (true) or answers again (false).</summary>
    private protected abstract Task FailStoreAsync(bool failing);

    /// <summary>How many store calls of the failing round waited out the timeout (each a read or a write the store did not answer).</summary>
    private protected abstract int StoreCallsThatWaitedOut { get; }

    [Fact]
    public async Task A_round_whose_store_stops_answering_ends_at_the_first_failure_and_every_projects_mail_arrives_once_the_store_answers()
    {
        var shops = new List<Project>();
        for (var i = 0; i < Projects; i++)
        {
            var shop = await Harness.CreateProjectAsync($"shop{i}");
            await Harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = [$"team{i}@example.com"] });
            shops.Add(shop);
        }

        await Harness.RoundAsync();
        await Harness.InsertAsync([.. shops.Select(shop => Crashes.Checkout(shop.Id, Harness.Time.GetUtcNow().AddSeconds(1)))]);
        Harness.Time.Advance(TimeSpan.FromMinutes(1));

        await FailStoreAsync(true);
        await Harness.RoundAsync().WaitAsync(RoundBound);
        await FailStoreAsync(false);

        var failures = Harness.Log.Entries.Where(e => e.Message.Contains("could not be evaluated", StringComparison.Ordinal)).ToList();
        failures.Should().ContainSingle("the round ends at the store's first failure, not after one per project")
            .Which.Message.Should().Contain(GivenUp);
        StoreCallsThatWaitedOut.Should().Be(1, "the other projects are not asked: each would wait out the same timeout");
        Smtp.Messages().Should().BeEmpty();

        Harness.Time.Advance(TimeSpan.FromMinutes(1));
        await Harness.RoundAsync().WaitAsync(RoundBound);
        Harness.Time.Advance(TimeSpan.FromMinutes(1));
        await Harness.RoundAsync().WaitAsync(RoundBound);

        Smtp.Messages().SelectMany(SmtpServerFixture.EnvelopeRecipients).Should().BeEquivalentTo(
            Enumerable.Range(0, Projects).Select(i => $"team{i}@example.com"), "each project's new issue is mailed once, none lost, none twice");
        foreach (var shop in shops)
        {
            (await Harness.HistoryAsync(shop)).Should().ContainSingle().Which.State.Should().Be(NotificationState.Sent);
        }
    }
}

[Collection(SmtpAndClickHouseCollectionDefinition.Name)]
public sealed class ClickHouseRoundEndsAtStoreFailureTests(SmtpServerFixture smtp, ClickHouseServerFixture clickHouse) : RoundEndsAtStoreFailureTests(smtp)
{
    private readonly ClickHouseFaultProxy _proxy = ClickHouseFaultProxy.Start(clickHouse.Url);

    private protected override Dictionary<string, string?> Settings
    {
        get
        {
            var settings = NotificationHarness.ClickHouseStore(clickHouse, ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseRoundEndsAtStoreFailureTests)), TimeSpan.FromSeconds(3));
            settings["ErrorHub:Store:ClickHouse:Url"] = _proxy.Url.ToString();
            return settings;
        }
    }

    /// <summary>
    /// The project list answers, then every read of a project's alert settings stalls (the request reaches the node, no
    /// answer comes: a node stuck on a disk or a lock), until the store answers again.
    /// </summary>
    private protected override Task FailStoreAsync(bool failing)
    {
        if (failing)
        {
            _proxy.Arm(ClickHouseFault.ErrorAnswer);
            _proxy.HoldOnly = head => head.Contains("notification_documents", StringComparison.Ordinal) && head.Contains("SELECT", StringComparison.Ordinal);
        }
        else
        {
            _proxy.ReleaseHeld();
            _proxy.Fault = ClickHouseFault.None;
        }

        return Task.CompletedTask;
    }

    private protected override int StoreCallsThatWaitedOut => _proxy.HeldRequests;

    public override async Task DisposeAsync()
    {
        _proxy.ReleaseHeld();
        await base.DisposeAsync();
        await _proxy.DisposeAsync();
    }
}

[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class SqliteRoundEndsAtStoreFailureTests(SmtpServerFixture smtp) : RoundEndsAtStoreFailureTests(smtp)
{
    private readonly LockableSqliteStore _store = new("errorhub-round-ends-");
    private int _busy;

    private protected override Dictionary<string, string?> Settings => _store.Settings;

    /// <summary>Another process's write transaction on the store: reads go on, writes wait it out.</summary>
    private protected override async Task FailStoreAsync(bool failing)
    {
        if (failing)
        {
            await _store.HoldWriteLockAsync();
        }
        else if (_store.Held)
        {
            // Each project the failing round asked to record its mail waited out the busy timeout and logged it.
            _busy = Harness.Log.Entries.Count(e => e.Exception is SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_BUSY });
            await _store.ReleaseWriteLockAsync();
        }
    }

    private protected override int StoreCallsThatWaitedOut => _busy;

    /// <summary>
    /// The participants' mail of issues that happened again after they were resolved, with the write lock held: the round
    /// ends at the first mail the store cannot record. Until December 2026 the worker waited out the busy timeout for each
    /// such issue in turn (its failure was logged and the next issue tried), then once more for the project's progress.
    /// </summary>
    [Fact]
    public async Task A_round_that_cannot_record_a_regressions_participant_mail_ends_there_and_every_one_arrives_once_the_store_answers()
    {
        string[] fingerprints = ["fp-cart", "fp-pay", "fp-ship"];
        var shop = await Harness.CreateProjectAsync("shop");
        var ana = await Harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await Harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { Rules = [] });
        await Harness.InsertAsync([.. fingerprints.Select(fp => Crashes.Checkout(shop.Id, Harness.Time.GetUtcNow().AddMinutes(-5), fp))]);
        await Harness.RoundAsync();
        var workflow = Harness.Services.GetRequiredService<WorkflowMail>();
        foreach (var fingerprint in fingerprints)
        {
            await Harness.States.SetStateAsync(new IssueState(shop.Id, fingerprint, IssueStatus.Resolved, Harness.Time.GetUtcNow().AddMinutes(-1)));
            await workflow.SetSubscribedAsync(shop.Id, fingerprint, ana.Id, true);
        }

        await Harness.InsertAsync([.. fingerprints.Select(fp => Crashes.Checkout(shop.Id, Harness.Time.GetUtcNow().AddSeconds(-10), fp, release: "shop@2.4.2"))]);
        await FailStoreAsync(true);
        await Harness.RoundAsync().WaitAsync(TimeSpan.FromMinutes(4));
        await FailStoreAsync(false);

        StoreCallsThatWaitedOut.Should().Be(1, "the round ends at the first mail the store cannot record, not after one wait per issue");
        Harness.Log.Entries.Should().ContainSingle(e => e.Exception is SqliteException).Which.Message.Should().Contain("the store is not answering. The round ends here");
        Smtp.Messages().Should().BeEmpty();

        Harness.Time.Advance(TimeSpan.FromMinutes(1));
        await Harness.RoundAsync();
        Harness.Time.Advance(TimeSpan.FromMinutes(1));
        await Harness.RoundAsync();
        Smtp.Messages().Select(m => m.TextBody ?? "").Should().HaveCount(3, "one mail per regression, none lost, none twice")
            .And.OnlyContain(text => text.StartsWith("A resolved issue happened again", StringComparison.Ordinal));
    }

    public override async Task DisposeAsync()
    {
        await FailStoreAsync(false);
        await base.DisposeAsync();
        await _store.DisposeAsync();
    }
}
