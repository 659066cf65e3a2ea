using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>An issue's events by release, environment, browser, OS and server: the same answers from every store.</summary>
public abstract partial class StoreContractTests
{
    private static ErrorEvent BrokenDownEvent(string fingerprint, DateTimeOffset time, string? release, string? environment, string? server, string? browser, string? clientOs)
    {
        var tags = new Dictionary<string, string> { ["region"] = "eu" };
        if (browser is not null)
        {
            tags["browser"] = browser;
        }

        if (clientOs is not null)
        {
            tags["client_os"] = clientOs;
        }

        return TestEvents.Create(Project, fingerprint, time) with
        {
            Release = release,
            Environment = environment,
            ServerName = server,
            Tags = tags,
            // The server's own OS is not the client's: it must not be counted as one.
            Os = new NameVersion("Linux", "6.1"),
        };
    }

    [Fact]
    public async Task Breakdowns_count_each_dimensions_values_most_frequent_first_with_the_events_that_had_one()
    {
        var events = new List<ErrorEvent>();
        for (var i = 0; i < 6; i++)
        {
            events.Add(BrokenDownEvent("fp-bd", T0.AddMinutes(-i), "shop@2.0.0", "production", "web-1", "Chrome 120", "Windows 10"));
        }

        for (var i = 0; i < 3; i++)
        {
            events.Add(BrokenDownEvent("fp-bd", T0.AddMinutes(-10 - i), "shop@1.9.0", "staging", "web-2", "Firefox 121", "macOS 14"));
        }

        events.Add(BrokenDownEvent("fp-bd", T0.AddMinutes(-20), null, null, null, null, null));
        await Store.Events.InsertEventsAsync(events);

        // Another issue and another project never count.
        await Store.Events.InsertEventsAsync([
            BrokenDownEvent("fp-other", T0, "shop@9.9.9", "production", "web-9", "Safari 17", "iOS 17"),
            BrokenDownEvent("fp-bd", T0, "shop@9.9.9", "production", "web-9", "Safari 17", "iOS 17") with { ProjectId = Project + 1 },
        ]);

        var breakdowns = await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "fp-bd"));

        breakdowns.Events.Should().Be(10);
        breakdowns.Dimensions.Select(d => d.Dimension).Should().Equal(Enum.GetValues<BreakdownDimension>());
        Dimension(breakdowns, BreakdownDimension.Release).Should().BeEquivalentTo(
            new Breakdown(BreakdownDimension.Release, [new("shop@2.0.0", 6), new("shop@1.9.0", 3)], 9), o => o.WithStrictOrdering());
        Dimension(breakdowns, BreakdownDimension.Environment).Values.Should().Equal(new BreakdownValue("production", 6), new BreakdownValue("staging", 3));
        Dimension(breakdowns, BreakdownDimension.Server).Values.Should().Equal(new BreakdownValue("web-1", 6), new BreakdownValue("web-2", 3));
        Dimension(breakdowns, BreakdownDimension.Browser).Should().BeEquivalentTo(
            new Breakdown(BreakdownDimension.Browser, [new("Chrome 120", 6), new("Firefox 121", 3)], 9), o => o.WithStrictOrdering());
        Dimension(breakdowns, BreakdownDimension.OperatingSystem).Values.Should().Equal(new BreakdownValue("Windows 10", 6), new BreakdownValue("macOS 14", 3));
    }

    [Fact]
    public async Task Breakdowns_keep_the_top_values_count_the_rest_and_follow_the_range()
    {
        // Releases 1.0 .. 1.5, release 1.k with k+1 events, an hour apart going back from T0; ties ordered by value.
        var events = new List<ErrorEvent>();
        var minutes = 0;
        for (var k = 0; k < 6; k++)
        {
            for (var n = 0; n <= k; n++)
            {
                events.Add(BrokenDownEvent("fp-top", T0.AddMinutes(-minutes++ * 30), $"app@1.{k}", "production", "b-web", "Edge 120", null));
            }
        }

        events.Add(BrokenDownEvent("fp-top", T0.AddDays(-3), "app@0.1", "production", "a-web", "Edge 120", null));
        await Store.Events.InsertEventsAsync(events);

        var top = await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "fp-top") { Limit = 3 });
        top.Events.Should().Be(22);
        Dimension(top, BreakdownDimension.Release).Should().BeEquivalentTo(
            new Breakdown(BreakdownDimension.Release, [new("app@1.5", 6), new("app@1.4", 5), new("app@1.3", 4)], 22), o => o.WithStrictOrdering());
        Dimension(top, BreakdownDimension.Server).Values.Should().Equal(new BreakdownValue("b-web", 21), new BreakdownValue("a-web", 1));
        Dimension(top, BreakdownDimension.OperatingSystem).Should().BeEquivalentTo(new Breakdown(BreakdownDimension.OperatingSystem, [], 0));

        // The last day only: the three-day-old event is out; the range is taken at whole hours.
        var lastDay = await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "fp-top") { Since = T0.AddDays(-1).AddMinutes(20), Until = T0.AddMinutes(1) });
        lastDay.Events.Should().Be(21);
        Dimension(lastDay, BreakdownDimension.Server).Values.Should().Equal(new BreakdownValue("b-web", 21));
        Dimension(lastDay, BreakdownDimension.Release).Values.Should().NotContain(value => value.Value == "app@0.1");

        var nothing = await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "fp-top") { Since = T0.AddDays(1), Until = T0 });
        nothing.Events.Should().Be(0);
        nothing.Dimensions.Should().HaveCount(5).And.OnlyContain(d => d.Values.Count == 0 && d.WithValue == 0);
    }

    [Fact]
    public async Task Breakdowns_of_an_unknown_issue_and_of_hostile_values_are_answered_exactly()
    {
        (await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "no-such-issue' OR 1=1 --"))).Events.Should().Be(0);

        var hostile = TestEvents.HostileStrings.Where(s => s.Length > 0).ToList();
        var events = hostile.Select((s, i) => BrokenDownEvent("fp-hostile", T0.AddSeconds(-i), s, s, s, s, s)).ToList();
        await Store.Events.InsertEventsAsync(events);

        var breakdowns = await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "fp-hostile") { Limit = BreakdownQuery.MaxLimit });
        foreach (var dimension in breakdowns.Dimensions)
        {
            dimension.Values.Select(v => v.Value).Should().BeEquivalentTo(hostile.Distinct(), $"{dimension.Dimension} keeps every value as it was sent");
        }

        await FluentActions.Invoking(() => Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "fp") { Limit = 0 })).Should().ThrowAsync<ArgumentOutOfRangeException>();
        await FluentActions.Invoking(() => Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "fp") { Limit = BreakdownQuery.MaxLimit + 1 })).Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    private static Breakdown Dimension(IssueBreakdowns breakdowns, BreakdownDimension dimension) =>
        breakdowns.Dimensions.Single(d => d.Dimension == dimension);
}
