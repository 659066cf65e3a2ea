using System.Net;
using ErrorHub.Storage;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>A project's keys as ingest checks them: every active key opens the project; a revoked key or a deleted project does not.</summary>
public sealed class ProjectKeyTests
{
    private const string SecondKey = "second-key-0123456789abcdef";

    [Fact]
    public async Task Every_active_key_of_the_project_is_accepted_and_another_projects_key_is_not()
    {
        await using var host = await IngestHost.StartAsync();
        await host.Projects.AddKeyAsync(IngestHost.ProjectId, SecondKey, "Worker", DateTimeOffset.UtcNow);
        var other = await host.Projects.CreateProjectAsync("Other", "other-project-key-0123456789", DateTimeOffset.UtcNow);
        Forget(host, IngestHost.ProjectId);

        using var first = await host.PostAsync(IngestHost.MessagePack(Batch()), IngestHost.Key);
        using var second = await host.PostAsync(IngestHost.MessagePack(Batch()), SecondKey);
        using var foreign = await host.PostAsync(IngestHost.MessagePack(Batch()), "other-project-key-0123456789");
        using var ownProject = await host.PostAsync(IngestHost.MessagePack(Batch()), "other-project-key-0123456789", other.Id);

        first.StatusCode.Should().Be(HttpStatusCode.Accepted);
        second.StatusCode.Should().Be(HttpStatusCode.Accepted);
        foreign.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        ownProject.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task A_revoked_key_is_refused_at_once_by_the_process_that_revoked_it_and_within_seconds_by_others()
    {
        await using var host = await IngestHost.StartAsync();
        await host.Projects.AddKeyAsync(IngestHost.ProjectId, SecondKey, "Worker", DateTimeOffset.UtcNow);
        Forget(host, IngestHost.ProjectId);
        using (var before = await host.PostAsync(IngestHost.MessagePack(Batch()), SecondKey))
        {
            before.StatusCode.Should().Be(HttpStatusCode.Accepted, "the key works and is now cached");
        }

        // Another process revokes it: this one still has the key cached, for a few seconds at most.
        await host.Projects.RevokeKeyAsync(IngestHost.ProjectId, SecondKey, DateTimeOffset.UtcNow);
        var deadline = DateTime.UtcNow + ProjectKeys.CacheFor + TimeSpan.FromSeconds(5);
        HttpStatusCode status;
        do
        {
            using var response = await host.PostAsync(IngestHost.MessagePack(Batch()), SecondKey);
            status = response.StatusCode;
            await Task.Delay(200);
        }
        while (status != HttpStatusCode.Unauthorized && DateTime.UtcNow < deadline);

        status.Should().Be(HttpStatusCode.Unauthorized);
        using var remaining = await host.PostAsync(IngestHost.MessagePack(Batch()), IngestHost.Key);
        remaining.StatusCode.Should().Be(HttpStatusCode.Accepted, "the project's other key still works");

        // The same process forgets at once.
        await host.Projects.RevokeKeyAsync(IngestHost.ProjectId, IngestHost.Key, DateTimeOffset.UtcNow);
        Forget(host, IngestHost.ProjectId);
        using var now = await host.PostAsync(IngestHost.MessagePack(Batch()), IngestHost.Key);
        now.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_deleted_project_receives_nothing_and_is_not_created_again_at_the_next_start()
    {
        var directory = Path.Combine(Path.GetTempPath(), "errorhub-keys-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var host = await IngestHost.StartAsync(directory: directory))
            {
                await host.Projects.DeleteProjectAsync(IngestHost.ProjectId, DateTimeOffset.UtcNow);
                Forget(host, IngestHost.ProjectId);

                using var response = await host.PostAsync(IngestHost.MessagePack(Batch()), IngestHost.Key);
                response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            }

            await using var restarted = await IngestHost.StartAsync(directory: directory);
            (await restarted.Projects.GetProjectAsync(IngestHost.ProjectId)).Should().BeNull("deleting wins over the configured project");
            restarted.Logs.Entries.Should().Contain(e => e.Message.Contains("was deleted in the dashboard", StringComparison.Ordinal));
        }
        finally
        {
            IngestHost.DeleteDirectory(directory);
        }
    }

    private static void Forget(IngestHost host, int projectId)
    {
        foreach (var cache in host.Services.GetServices<IProjectKeyCache>())
        {
            cache.Forget(projectId);
        }
    }

    private static byte[] Batch() => Wire.Encode(SampleBatch.WithFreshIds().Batch);
}
