using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Capture;

/// <summary>Tags, extra values, user, fingerprint and breadcrumbs set by the app travel with its events, as sent on the wire.</summary>
public sealed class ScopeTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task A_pushed_scope_adds_its_context_to_events_of_its_flow_and_disposing_it_restores_the_previous_one()
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;
        client.ConfigureScope(s => s.SetTag("region", "eu-west"));
        client.AddBreadcrumb(new Breadcrumb(_clock.GetUtcNow(), "import started", "import", ErrorHubLevel.Info));

        using (client.PushScope())
        {
            client.ConfigureScope(s =>
            {
                s.SetTag("tenant", "acme");
                s.SetExtra("file", "orders-2026-12-01.csv");
                s.User = new UserInfo { Id = "42", Email = "ops@acme.example" };
                s.Fingerprint = ["import-failure"];
            });
            client.AddBreadcrumb(new Breadcrumb(_clock.GetUtcNow().AddSeconds(1), "row 17 skipped", "import", ErrorHubLevel.Warning));
            client.CaptureException(Thrown(new FormatException("bad date in row 18")));
        }

        client.CaptureMessage("import finished");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var events = _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => e.AsMap()).ToList();
        var failure = events.Single(e => e.Keys.Contains("exceptions"));
        failure["tags"].AsMap()["region"].Should().Be("eu-west", "the process scope is inherited");
        failure["tags"].AsMap()["tenant"].Should().Be("acme");
        failure["extra"].AsMap()["file"].Should().Be("orders-2026-12-01.csv");
        failure["user"].AsMap()["email"].Should().Be("ops@acme.example");
        failure["fingerprint"].AsList().Should().Equal("import-failure");
        var crumbs = failure["breadcrumbs"].AsList().Select(c => c.AsMap()).ToList();
        crumbs.Select(c => c["message"]).Should().Equal("import started", "row 17 skipped");
        crumbs.Select(c => c["level"]).Should().Equal("info", "warning");
        crumbs.Select(c => c["category"]).Should().Equal("import", "import");

        var after = events.Single(e => !e.Keys.Contains("exceptions"));
        after["tags"].AsMap().Keys.Should().Contain("region").And.NotContain("tenant");
        after.Keys.Should().NotContain("fingerprint");
    }

    [Fact]
    public async Task Tags_and_breadcrumbs_are_bounded_whatever_the_app_adds()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.MaxBreadcrumbs = 5;
        });
        var client = sdk.Client;
        using (client.PushScope())
        {
            for (var i = 0; i < 1000; i++)
            {
                client.ConfigureScope(s => s.SetTag($"tag{i}", new string('v', 1000)));
                client.AddBreadcrumb(new Breadcrumb(_clock.GetUtcNow().AddMilliseconds(i), $"step {i}", "loop", ErrorHubLevel.Info));
            }

            client.CaptureMessage("after the loop");
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        var e = Wire.Read(_ingest.Requests.Single().Body).AsMap()["events"].AsList()[0].AsMap();
        e["tags"].AsMap().Entries.Should().HaveCountLessThanOrEqualTo(60);
        e["tags"].AsMap().Entries.Should().OnlyContain(t => ((string)t.Value!).Length <= 200);
        e["breadcrumbs"].AsList().Select(c => c.AsMap()["message"]).Should().Equal("step 995", "step 996", "step 997", "step 998", "step 999");
    }

    [Fact]
    public async Task A_huge_MaxBreadcrumbs_keeps_the_newest_100_the_most_ingest_keeps_so_memory_stays_bounded_and_the_event_is_not_too_large()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.MaxBreadcrumbs = int.MaxValue;
        });
        var client = sdk.Client;
        for (var i = 0; i < 3000; i++)
        {
            // Outside any request: the process's own scope, which lives as long as the app.
            client.AddBreadcrumb(new Breadcrumb(_clock.GetUtcNow().AddMilliseconds(i), $"step {i} " + new string('x', 1000), "loop", ErrorHubLevel.Info));
        }

        client.CaptureMessage("after the loop");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var events = _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).ToList();
        var breadcrumbs = events.Should().ContainSingle("3000 breadcrumbs of 1 KB would make the event larger than MaxBatchBytes: dropped as too_large").Subject
            .AsMap()["breadcrumbs"].AsList().Select(c => ((string)c.AsMap()["message"]!).Split(' ')[1]).ToList();
        breadcrumbs.Should().HaveCount(100).And.EndWith("2999");
        breadcrumbs[0].Should().Be("2900");
    }
}
