using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>The project that exists after start-up, its key, and the DSN a user copies from the log.</summary>
public sealed partial class ProjectBootstrapTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-bootstrap-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => IngestHost.DeleteDirectory(_directory);

    [Fact]
    public async Task With_a_configured_key_that_key_opens_the_project_and_no_other_does()
    {
        await using var host = await IngestHost.StartAsync(new() { ["ErrorHub:Project:PublicKey"] = "configured-key-000111222333" }, _directory);

        using var right = await host.PostAsync(IngestHost.MessagePack(Batch()), "configured-key-000111222333");
        using var wrong = await host.PostAsync(IngestHost.MessagePack(Batch()), IngestHost.Key);

        right.StatusCode.Should().Be(HttpStatusCode.Accepted);
        wrong.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await host.Projects.GetProjectAsync(IngestHost.ProjectId))!.Name.Should().Be("Shop");
    }

    [Fact]
    public async Task The_dsn_printed_at_start_up_sends_events_that_are_accepted()
    {
        await using var host = await IngestHost.StartAsync(new() { ["ErrorHub:Project:PublicKey"] = "configured-key-000111222333" }, _directory);

        var dsn = await LoggedDsnAsync(host);

        dsn.Should().Be($"http://configured-key-000111222333@127.0.0.1:{host.BaseAddress.Port}/1");
        using var response = await PostWithDsnAsync(dsn);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Without_a_configured_key_a_random_key_is_created_once_and_kept_across_restarts(string? configured)
    {
        string key;
        await using (var first = await IngestHost.StartAsync(new() { ["ErrorHub:Project:PublicKey"] = configured }, _directory))
        {
            key = (await first.Projects.GetProjectAsync(IngestHost.ProjectId))!.PublicKey;
            key.Should().MatchRegex("^[0-9a-f]{32}$");
            using var response = await PostWithDsnAsync(await LoggedDsnAsync(first));
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        await using var second = await IngestHost.StartAsync(new() { ["ErrorHub:Project:PublicKey"] = configured }, _directory);

        (await second.Projects.GetProjectAsync(IngestHost.ProjectId))!.PublicKey.Should().Be(key, "a restart on the same store keeps the key every client has");
        (await LoggedDsnAsync(second)).Should().Contain(key + "@");
        using var again = await second.PostAsync(IngestHost.MessagePack(Batch()), key);
        again.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task A_newly_configured_key_replaces_the_stored_one_and_keeps_the_creation_time()
    {
        DateTimeOffset created;
        await using (var first = await IngestHost.StartAsync(new() { ["ErrorHub:Project:PublicKey"] = null }, _directory))
        {
            created = (await first.Projects.GetProjectAsync(IngestHost.ProjectId))!.CreatedAt;
        }

        await using var second = await IngestHost.StartAsync(new() { ["ErrorHub:Project:PublicKey"] = "rotated-key-000111222333" }, _directory);

        var project = await second.Projects.GetProjectAsync(IngestHost.ProjectId);
        project!.PublicKey.Should().Be("rotated-key-000111222333");
        project.CreatedAt.Should().Be(created);
    }

    [Theory]
    [InlineData("short", "ErrorHub:Project:PublicKey")]
    [InlineData("has spaces in it, 0123456789", "ErrorHub:Project:PublicKey")]
    [InlineData("ünïcödé-key-0123456789", "ErrorHub:Project:PublicKey")]
    public async Task An_unusable_configured_key_stops_the_start_with_a_message_naming_the_setting(string key, string setting)
    {
        var start = () => IngestHost.StartAsync(new() { ["ErrorHub:Project:PublicKey"] = key }, _directory);

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(setting);
    }

    [Fact]
    public async Task With_a_public_url_the_printed_dsn_is_built_from_it_not_from_the_listening_address()
    {
        await using var host = await IngestHost.StartAsync(new() { ["ErrorHub:IngestUrl"] = "https://ingest.example.com/errorhub" }, _directory);

        (await LoggedDsnAsync(host)).Should().Be($"https://{IngestHost.Key}@ingest.example.com/errorhub/1");
    }

    [Fact]
    public async Task With_project_creation_off_no_project_is_created_and_every_key_is_refused()
    {
        await using var host = await IngestHost.StartAsync(new() { ["ErrorHub:Project:Create"] = "false" }, _directory);

        (await host.Projects.GetProjectsAsync()).Should().BeEmpty();
        using var response = await host.PostAsync(IngestHost.MessagePack(Batch()));
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    private static byte[] Batch() => Wire.Encode(SampleBatch.WithFreshIds().Batch);

    /// <summary>The DSN the host logged once it listened (logged right after start-up, from a background task).</summary>
    private static async Task<string> LoggedDsnAsync(IngestHost host)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var entry = host.Logs.Entries.FirstOrDefault(e => e.Message.StartsWith("ErrorHub DSN for project 1", StringComparison.Ordinal));
            if (entry is not null)
            {
                return DsnPattern().Match(entry.Message).Value;
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException("no DSN was logged: " + string.Join("\n", host.Logs.Entries));
    }

    /// <summary>Sends a batch the way the protocol says a DSN is used: key from the user part, /api/{id}/events from the path.</summary>
    private static async Task<HttpResponseMessage> PostWithDsnAsync(string dsn)
    {
        var uri = new Uri(dsn);
        var projectId = uri.AbsolutePath.Trim('/');
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{uri.Scheme}://{uri.Authority}/api/{projectId}/events")
        {
            Content = IngestHost.MessagePack(Batch()),
        };
        request.Headers.Add("X-ErrorHub-Key", uri.UserInfo);
        return await client.SendAsync(request);
    }

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex DsnPattern();
}
