using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The regression alert and the daily digest of a project a few years old on ClickHouse: 300,000 issues resolved long ago,
/// past what one read of all the project's resolved states can answer (64 M characters). Until December 2026 each round read
/// them all, so such a project's regressions were never mailed and its digest never came.
/// </summary>
[Collection(SmtpAndClickHouseCollectionDefinition.Name)]
public sealed class BigProjectAlertTests(SmtpServerFixture smtp, ClickHouseServerFixture clickHouse) : HarnessTests(smtp)
{
    private const int OldIssues = 300_000;

    private protected override Dictionary<string, string?> Settings =>
        NotificationHarness.ClickHouseStore(clickHouse, ClickHouseServerFixture.NewDatabaseName(nameof(BigProjectAlertTests)));

    [Fact]
    public async Task A_project_with_300000_old_resolved_issues_mails_its_regression_and_its_digest_as_a_small_one_does()
    {
        var shop = await Harness.CreateProjectAsync("shop");
        await Harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await Harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules = [new AlertRule("regression", AlertTrigger.Regression), new AlertRule("digest", AlertTrigger.DailyDigest)],
        });
        await Harness.RoundAsync(); // Monday 10:00: the worker starts watching; Tuesday 08:00 sums up Monday 08:00 to Tuesday 08:00
        var start = Harness.Time.GetUtcNow();
        await Harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddHours(-2), release: "shop@2.9.0"));
        await Harness.States.SetStateAsync(new IssueState(shop.Id, "fp-checkout", IssueStatus.Resolved, start.AddHours(-1)) { ResolvedInRelease = "shop@2.10.0" });

        // Years of triage: issues whose events are long gone, each state as the dashboard writes it (its action and timeline entry).
        foreach (var chunk in Enumerable.Range(0, OldIssues).Chunk(25_000))
        {
            await Harness.States.SetStatesAsync([.. chunk.Select(i => OldState(shop.Id, i, start))]);
        }

        await Harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(1), release: "shop@2.10.1", userId: "maria"));
        Harness.Time.Advance(TimeSpan.FromMinutes(2));
        await Harness.RoundAsync();

        var regression = Smtp.Messages().Should().ContainSingle().Subject;
        regression.TextBody.Should().StartWith("Regression in production:")
            .And.Contain("resolved in release shop@2.10.0").And.Contain("happened again in release shop@2.10.1");

        Harness.Time.Advance(new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero) - Harness.Time.GetUtcNow());
        await Harness.RoundAsync();
        Harness.Time.Advance(TimeSpan.FromHours(1));
        await Harness.RoundAsync();

        Smtp.Messages().Should().HaveCount(2);
        var digest = Smtp.Messages()[1];
        digest.Subject.Should().StartWith("[shop] Daily digest 2026-03-03");
        digest.TextBody.Should().MatchRegex(@"Regressions:\s+1\b", "the issue resolved that day came back that day")
            .And.MatchRegex(@"Resolved:\s+1\b", "of the 300,001 resolved issues, one was resolved that day");
    }

    private static IssueState OldState(int projectId, int i, DateTimeOffset start)
    {
        var fingerprint = $"fp-old-{i:D6}";
        var at = start.AddDays(-700).AddSeconds(i * 60L);
        return new IssueState(projectId, fingerprint, IssueStatus.Resolved, at)
        {
            ResolvedInRelease = "shop@1.0." + (i % 50),
            Actions = Guid.NewGuid().ToString("N"),
            Entries = new IssueEntries(
            [
                new IssueChange(projectId, fingerprint, Guid.NewGuid(), at, IssueChangeKind.Status, Guid.NewGuid(), "Ada Admin")
                {
                    Text = "Resolved in shop@1.0." + (i % 50),
                    Value = "resolved",
                },
            ]),
        };
    }
}
