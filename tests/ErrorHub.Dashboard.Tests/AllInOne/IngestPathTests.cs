using System.Net;
using System.Text.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;

namespace ErrorHub.Dashboard.Tests.AllInOne;

/// <summary>
/// What the dashboard answers on the ingest path besides an accepted batch: with <c>ErrorHub:AllInOne=false</c> an SDK
/// pointed at it must not be told its key is wrong (401 stops the SDK until its app restarts), and in either mode a GET
/// of the path is the 405 naming POST that the stand-alone ingest gives, not a request for an API token.
/// </summary>
public sealed class IngestPathTests
{
    [Fact]
    public async Task A_dashboard_that_does_not_receive_events_answers_an_sdks_batch_404_json_naming_the_ingest_url_not_401()
    {
        using var server = DashboardServer.Start(new()
        {
            ["ErrorHub:AllInOne"] = "false",
            ["ErrorHub:IngestUrl"] = "https://ingest.example.com/",
        });
        using var client = server.NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = IngestHost.MessagePack(Wire.Encode(SampleBatch.WithFreshIds().Batch)) };
        request.Headers.TryAddWithoutValidation("X-ErrorHub-Key", DashboardServer.ProjectKey);

        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound, "the SDK drops a batch answered 404 and keeps its key; a 401 would stop it");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        json.RootElement.GetProperty("error").GetString().Should()
            .Contain("does not receive events").And.Contain("AllInOne=false").And.Contain("https://ingest.example.com/");
        server.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task Anonymous_GET_and_HEAD_of_the_ingest_path_on_the_all_in_one_server_are_the_405_naming_POST()
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var get = await client.GetAsync("/api/1/events");
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/1/events"));

        get.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed, "the static files' route takes GET on every path; this path is ingest's");
        get.Content.Headers.Allow.Should().Equal("POST");
        get.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        (await get.Content.ReadAsStringAsync()).Should().Contain("does not take GET; it takes POST");
        head.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        head.Content.Headers.Allow.Should().Equal("POST");
    }

    [Fact]
    public async Task The_all_in_one_server_answers_a_browsers_preflight_of_the_ingest_path_without_sign_in()
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/1/events");
        preflight.Headers.TryAddWithoutValidation("Origin", "https://shop.example.com");
        preflight.Headers.TryAddWithoutValidation("Access-Control-Request-Method", "POST");
        preflight.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", "content-type, x-errorhub-key");

        using var response = await client.SendAsync(preflight);

        response.StatusCode.Should().Be(HttpStatusCode.NoContent, "a Blazor WebAssembly app on another origin sends its events here");
        response.Headers.GetValues("Access-Control-Allow-Origin").Should().Equal("*");
        response.Headers.GetValues("Access-Control-Allow-Headers").Single().Should().Contain("X-ErrorHub-Key");
        response.Headers.Contains("Set-Cookie").Should().BeFalse();
    }
}
