using System.Net;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// Requests nobody may make (unknown or deleted projects, wrong keys) cost the store one lookup per project
/// id per cache period, not one per request: a scan or a misconfigured client in a retry loop cannot load it.
/// </summary>
public sealed class NegativeCacheTests
{
    private const int UnknownProject = 4711;

    [Fact]
    public async Task An_unknown_project_id_is_looked_up_once_per_cache_period_however_many_requests_ask()
    {
        var (host, clock, store) = await StartAsync();
        await using var _ = host;

        var burst = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => StatusAsync(host, IngestHost.Key, UnknownProject)));
        for (var i = 0; i < 20; i++)
        {
            (await StatusAsync(host, IngestHost.Key, UnknownProject)).Should().Be(HttpStatusCode.Unauthorized);
        }

        burst.Should().AllBeEquivalentTo(HttpStatusCode.Unauthorized);
        store.KeyLookups(UnknownProject).Should().Be(1, "concurrent requests share one lookup and later ones use its answer");

        clock.Advance(ProjectKeys.CacheFor - TimeSpan.FromMilliseconds(1));
        (await StatusAsync(host, IngestHost.Key, UnknownProject)).Should().Be(HttpStatusCode.Unauthorized);
        store.KeyLookups(UnknownProject).Should().Be(1);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        (await StatusAsync(host, IngestHost.Key, UnknownProject)).Should().Be(HttpStatusCode.Unauthorized);
        store.KeyLookups(UnknownProject).Should().Be(2, "the answer is asked again once its period is over");
    }

    [Fact]
    public async Task Wrong_keys_and_a_deleted_project_do_not_reach_the_store_on_every_request()
    {
        var (host, clock, store) = await StartAsync();
        await using var _ = host;
        (await StatusAsync(host, IngestHost.Key, IngestHost.ProjectId)).Should().Be(HttpStatusCode.Accepted);
        var wrongKeys = new[] { "wrong-key-0123456789abcdef", "", " ", new string('k', 4000), "ingest-test-key-012345678", IngestHost.Key + "0", IngestHost.Key + " extra" };
        foreach (var wrong in wrongKeys)
        {
            (await StatusAsync(host, wrong, IngestHost.ProjectId)).Should().Be(HttpStatusCode.Unauthorized, $"'{wrong}' is not the key");
        }

        store.KeyLookups(IngestHost.ProjectId).Should().Be(1, "wrong keys are compared with the cached keys");

        var created = await host.Projects.CreateProjectAsync("Doomed", "doomed-key-0123456789abcdef", clock.GetUtcNow());
        (await StatusAsync(host, "doomed-key-0123456789abcdef", created.Id)).Should().Be(HttpStatusCode.Accepted);
        await host.Projects.DeleteProjectAsync(created.Id, clock.GetUtcNow());
        clock.Advance(ProjectKeys.CacheFor);
        for (var i = 0; i < 10; i++)
        {
            (await StatusAsync(host, "doomed-key-0123456789abcdef", created.Id)).Should().Be(HttpStatusCode.Unauthorized);
        }

        store.KeyLookups(created.Id).Should().Be(2, "one lookup before the deletion, one after the cache period; none per refused request");
    }

    [Fact]
    public async Task A_scan_of_more_ids_than_the_cache_holds_does_not_push_out_the_projects_that_send()
    {
        var (host, _, store) = await StartAsync();
        await using var __ = host;
        var keys = host.Services.GetRequiredService<ProjectKeys>();
        (await StatusAsync(host, IngestHost.Key, IngestHost.ProjectId)).Should().Be(HttpStatusCode.Accepted);

        for (var id = 1000; id < 1000 + ProjectKeys.MaxCachedProjects + 100; id++)
        {
            (await keys.AuthenticateAsync(id, IngestHost.Key, CancellationToken.None)).Should().BeNull();
        }

        (await StatusAsync(host, IngestHost.Key, IngestHost.ProjectId)).Should().Be(HttpStatusCode.Accepted);
        store.KeyLookups(IngestHost.ProjectId).Should().Be(1, "the sending project stays cached while unknown ids make room for each other");
        store.KeyLookups(1000 + ProjectKeys.MaxCachedProjects + 99).Should().Be(1);
    }

    [Fact]
    public async Task A_project_created_after_its_id_was_refused_is_accepted_once_the_process_forgets_or_the_period_ends()
    {
        var (host, clock, _) = await StartAsync();
        await using var __ = host;
        var nextId = (await host.Projects.GetProjectsAsync()).Max(p => p.Id) + 1;
        (await StatusAsync(host, "new-project-key-0123456789ab", nextId)).Should().Be(HttpStatusCode.Unauthorized);

        var created = await host.Projects.CreateProjectAsync("New", "new-project-key-0123456789ab", clock.GetUtcNow());
        created.Id.Should().Be(nextId);
        (await StatusAsync(host, "new-project-key-0123456789ab", nextId)).Should().Be(HttpStatusCode.Unauthorized, "the refusal is cached");

        clock.Advance(ProjectKeys.CacheFor);
        (await StatusAsync(host, "new-project-key-0123456789ab", nextId)).Should().Be(HttpStatusCode.Accepted);

        var other = await host.Projects.CreateProjectAsync("Other", "other-project-key-0123456789", clock.GetUtcNow());
        (await StatusAsync(host, "wrong-key-0123456789abcdef", other.Id)).Should().Be(HttpStatusCode.Unauthorized);
        foreach (var cache in host.Services.GetServices<IProjectKeyCache>())
        {
            cache.Forget(other.Id);
        }

        (await StatusAsync(host, "other-project-key-0123456789", other.Id)).Should().Be(HttpStatusCode.Accepted);
    }

    private static async Task<(IngestHost Host, FakeTimeProvider Clock, CountingProjectStore Store)> StartAsync()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        CountingProjectStore? store = null;
        var host = await IngestHost.StartAsync(
            configureServices: services => services.AddSingleton<TimeProvider>(clock),
            replaceServices: services => CountingProjectStore.Wrap(services, created => store = created));
        _ = host.Services.GetRequiredService<ErrorHub.Storage.IProjectStore>();
        return (host, clock, store!);
    }

    private static async Task<HttpStatusCode> StatusAsync(IngestHost host, string key, int projectId)
    {
        using var response = await host.PostAsync(IngestHost.MessagePack(Wire.Encode(SampleBatch.WithFreshIds().Batch)), key, projectId);
        return response.StatusCode;
    }
}
