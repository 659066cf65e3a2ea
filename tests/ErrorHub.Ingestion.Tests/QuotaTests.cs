using System.Net;
using ErrorHub.Ingestion.Quotas;
using ErrorHub.Storage;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// Per-project rate limits and spike protection as a client sees them (429 with Retry-After, whole batches)
/// and as an operator sees them (refusals per project and reason in the store and on /metrics).
/// </summary>
public sealed class QuotaTests
{
    private const string OtherKey = "other-project-key-0123456789";

    [Fact]
    public async Task A_project_over_its_rate_limit_gets_429_with_Retry_After_until_its_allowance_refills()
    {
        var (host, clock) = await StartAsync(rateLimitPerMinute: 120);
        await using var _ = host;

        for (var i = 0; i < 4; i++)
        {
            (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted, "120 events a minute may arrive at once");
        }

        var refused = await PostAsync(host, copies: 10);
        refused.Status.Should().Be(HttpStatusCode.TooManyRequests);
        refused.RetryAfter.Should().Be("15", "30 events at 2 a second take 15 s to come back");
        refused.Error.Should().Contain("rate limit");

        clock.Advance(TimeSpan.FromSeconds(14));
        var almost = await PostAsync(host, copies: 10);
        almost.Status.Should().Be(HttpStatusCode.TooManyRequests);
        almost.RetryAfter.Should().Be("1");

        clock.Advance(TimeSpan.FromSeconds(1));
        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted);
        (await host.AllEventsAsync()).Should().HaveCount(150, "a refused batch stores none of its events");
    }

    [Fact]
    public async Task A_batch_larger_than_the_whole_allowance_gets_in_when_the_allowance_is_full_so_it_is_never_refused_forever()
    {
        var (host, clock) = await StartAsync(rateLimitPerMinute: 60);
        await using var _ = host;

        (await PostAsync(host, copies: 30)).Status.Should().Be(HttpStatusCode.Accepted, "90 events, more than a minute's 60, on a full allowance");
        var next = await PostAsync(host, copies: 1);
        next.Status.Should().Be(HttpStatusCode.TooManyRequests);
        next.RetryAfter.Should().Be("60", "refused before its body is read, it is told when a batch like the last one would fit: a full minute's allowance");

        clock.Advance(TimeSpan.FromMinutes(1));
        (await PostAsync(host, copies: 30)).Status.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task A_changed_limit_counts_at_once_in_the_process_that_changed_it_and_removing_it_lifts_it()
    {
        var (host, _) = await StartAsync(rateLimitPerMinute: 30);
        await using var __ = host;
        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted);
        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.TooManyRequests);

        await SaveLimitAsync(host, 600);
        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted, "a new limit starts with its own full allowance");

        await SaveLimitAsync(host, null);
        for (var i = 0; i < 30; i++)
        {
            (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted, "without a limit only spike protection (20,000 at once by default) applies");
        }
    }

    [Fact]
    public async Task The_servers_default_limit_applies_to_projects_without_their_own()
    {
        var (host, _) = await StartAsync(settings: new() { ["ErrorHub:Ingest:DefaultRateLimitPerMinute"] = "60" });
        await using var __ = host;
        var other = await host.Projects.CreateProjectAsync("Other", OtherKey, DateTimeOffset.UtcNow);
        await host.Projects.SaveSettingsAsync(other.Id, new ProjectSettings(600, null));

        (await PostAsync(host, copies: 20)).Status.Should().Be(HttpStatusCode.Accepted);
        (await PostAsync(host, copies: 1)).Status.Should().Be(HttpStatusCode.TooManyRequests);
        for (var i = 0; i < 10; i++)
        {
            (await PostAsync(host, copies: 20, OtherKey, other.Id)).Status.Should().Be(HttpStatusCode.Accepted, "the project's own limit wins over the default");
        }
    }

    [Fact]
    public async Task Spike_protection_stops_one_projects_flood_without_touching_the_others()
    {
        var (host, clock) = await StartAsync(settings: new()
        {
            ["ErrorHub:Ingest:SpikeEventsPerSecond"] = "10",
            ["ErrorHub:Ingest:SpikeBurstEvents"] = "60",
        });
        await using var _ = host;
        var other = await host.Projects.CreateProjectAsync("Other", OtherKey, DateTimeOffset.UtcNow);

        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted);
        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted);
        var refused = await PostAsync(host, copies: 10);
        refused.Status.Should().Be(HttpStatusCode.TooManyRequests);
        refused.RetryAfter.Should().Be("3");
        refused.Error.Should().Contain("spike protection");
        (await PostAsync(host, copies: 10, OtherKey, other.Id)).Status.Should().Be(HttpStatusCode.Accepted, "each project has its own allowance");

        clock.Advance(TimeSpan.FromSeconds(3));
        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task Concurrent_batches_never_get_more_than_the_allowance_in()
    {
        var (host, _) = await StartAsync(rateLimitPerMinute: 300);
        await using var __ = host;

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => PostAsync(host, copies: 10)));

        answers.Count(a => a.Status == HttpStatusCode.Accepted).Should().Be(10);
        answers.Count(a => a.Status == HttpStatusCode.TooManyRequests).Should().Be(30);
        answers.Where(a => a.Status == HttpStatusCode.TooManyRequests).Should().OnlyContain(a => int.Parse(a.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
        (await host.AllEventsAsync()).Should().HaveCount(300);
    }

    [Fact]
    public async Task Refusals_are_counted_per_project_and_reason_in_the_store_and_on_metrics()
    {
        var (host, _) = await StartAsync(rateLimitPerMinute: 60);
        await using var __ = host;
        var before = await OperationsTests.MetricsAsync(host);
        using (var invalid = await host.PostAsync(IngestHost.MessagePack([0xc1]))) // 0xc1 is never valid MessagePack
        {
            invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        }

        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted); // 30 of 60 left
        (await PostAsync(host, copies: 15)).Status.Should().Be(HttpStatusCode.TooManyRequests, "45 events do not fit in 30: decoded, then refused");
        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted); // none left
        (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.TooManyRequests, "refused before its body is read");

        using (var unknown = await host.PostAsync(IngestHost.MessagePack(Wire.Encode(SampleBatch.WithFreshIds().Batch)), IngestHost.Key, projectId: 999))
        {
            unknown.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "not counted: no such project");
        }

        await host.Services.GetRequiredService<ProjectDropCounts>().FlushAsync(CancellationToken.None);
        var drops = await host.Projects.GetDropsAsync(IngestHost.ProjectId, DateTimeOffset.UtcNow.AddDays(-1));
        drops.Select(d => (d.Reason, d.Batches, d.Events)).Should().BeEquivalentTo([("invalid", 1L, 0L), ("rate_limit", 2L, 45L)]);
        (await host.Projects.GetDropsAsync(999, DateTimeOffset.UtcNow.AddDays(-1))).Should().BeEmpty();

        var text = await OperationsTests.MetricsAsync(host);
        double Delta(string name, string labels) => OperationsTests.Value(text, name, labels) - OperationsTests.Value(before, name, labels);
        Delta("errorhub_ingest_dropped_batches_total", "project_id=\"1\",reason=\"rate_limit\"").Should().Be(2);
        Delta("errorhub_ingest_dropped_events_total", "project_id=\"1\",reason=\"rate_limit\"").Should().Be(45);
        Delta("errorhub_ingest_dropped_batches_total", "project_id=\"1\",reason=\"invalid\"").Should().Be(1);
        Delta("errorhub_ingest_batches_total", "outcome=\"rate_limited\"").Should().Be(2);
        text.Should().NotContain("project_id=\"999\"");
    }

    [Fact]
    public async Task Counts_not_yet_stored_are_stored_when_the_host_stops()
    {
        var directory = Path.Combine(Path.GetTempPath(), "errorhub-quota-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (host, _) = await StartAsync(rateLimitPerMinute: 30, directory: directory);
            await using (host)
            {
                (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.Accepted);
                (await PostAsync(host, copies: 10)).Status.Should().Be(HttpStatusCode.TooManyRequests);
            }

            await using var restarted = await IngestHost.StartAsync(directory: directory);
            (await restarted.Projects.GetDropsAsync(IngestHost.ProjectId, DateTimeOffset.UtcNow.AddDays(-1)))
                .Select(d => (d.Reason, d.Batches)).Should().Equal(("rate_limit", 1L));
        }
        finally
        {
            IngestHost.DeleteDirectory(directory);
        }
    }

    private static async Task<(IngestHost Host, FakeTimeProvider Clock)> StartAsync(int? rateLimitPerMinute = null, Dictionary<string, string?>? settings = null, string? directory = null)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var host = await IngestHost.StartAsync(settings, directory, services => services.AddSingleton<TimeProvider>(clock));
        if (rateLimitPerMinute is not null)
        {
            await SaveLimitAsync(host, rateLimitPerMinute);
        }

        return (host, clock);
    }

    private static async Task SaveLimitAsync(IngestHost host, int? perMinute)
    {
        await host.Projects.SaveSettingsAsync(IngestHost.ProjectId, new ProjectSettings(perMinute, null));
        foreach (var cache in host.Services.GetServices<IProjectKeyCache>())
        {
            cache.Forget(IngestHost.ProjectId);
        }
    }

    private static async Task<(HttpStatusCode Status, string? RetryAfter, string? Error)> PostAsync(IngestHost host, int copies, string key = IngestHost.Key, int projectId = IngestHost.ProjectId)
    {
        using var response = await host.PostAsync(IngestHost.MessagePack(Wire.Encode(SampleBatch.WithFreshIds(copies).Batch)), key, projectId);
        var retryAfter = response.Headers.TryGetValues("Retry-After", out var values) ? values.Single() : null;
        var error = response.StatusCode == HttpStatusCode.Accepted ? null : (await IngestHost.JsonAsync(response)).GetProperty("error").GetString();
        return (response.StatusCode, retryAfter, error);
    }
}
