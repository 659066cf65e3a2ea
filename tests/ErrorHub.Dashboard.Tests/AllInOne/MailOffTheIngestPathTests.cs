using System.Net;
using System.Net.Sockets;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Dashboard.Tests.AllInOne;

/// <summary>
/// The all-in-one server sends alert mail from a background worker: an SMTP server that takes the
/// connection and then never answers holds up the mail, never the events of the apps reporting to it.
/// </summary>
public sealed class MailOffTheIngestPathTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_smtp_server_that_accepts_the_connection_and_never_answers_does_not_hold_up_intake()
    {
        using var silentSmtp = new TcpListener(IPAddress.Loopback, 0);
        silentSmtp.Start();
        using var server = DashboardServer.Start(new()
        {
            ["ErrorHub:Notifications:Smtp:Host"] = "127.0.0.1",
            ["ErrorHub:Notifications:Smtp:Port"] = ((IPEndPoint)silentSmtp.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ErrorHub:Notifications:Smtp:Security"] = "None",
            ["ErrorHub:Notifications:Smtp:From"] = "errors@example.com",
            ["ErrorHub:Notifications:Smtp:Timeout"] = "00:10:00",
            ["ErrorHub:Notifications:PollInterval"] = "00:00:01",
        });
        using var ingest = new HttpClient { BaseAddress = server.BaseAddress };
        using var bound = new CancellationTokenSource(Bound);

        // Issues from before the worker watches a project are not news: wait until it does.
        var outbox = server.Services.GetRequiredService<INotificationStore>();
        while (await outbox.GetDocumentAsync(1, "worker", bound.Token) is null)
        {
            await Task.Delay(100, bound.Token);
        }

        // A new issue: the worker records its mail and opens a connection that will never get a greeting.
        (await PostAsync(ingest, Guid.NewGuid(), "first")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        using var stuck = await silentSmtp.AcceptTcpClientAsync(bound.Token);

        var ids = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            using var response = await PostAsync(ingest, id, "while the mail hangs");
            response.StatusCode.Should().Be(HttpStatusCode.Accepted, "intake does not wait for mail");
        }

        var reader = server.Services.GetRequiredService<IIssueReader>();
        foreach (var id in ids)
        {
            (await reader.GetEventAsync(1, id)).Should().NotBeNull("every event is stored while the SMTP server is silent");
        }

        stuck.Connected.Should().BeTrue("the mail is still waiting for the SMTP server's greeting");
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, Guid id, string message)
    {
        var batch = SampleBatch.OneEvent(e => e
            .With("event_id", id.ToString("N"))
            .With("timestamp", DateTimeOffset.UtcNow)
            .With("logger", "Shop." + message.Replace(' ', '_')));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = IngestHost.MessagePack(Wire.Encode(batch), gzip: false) };
        request.Headers.TryAddWithoutValidation("X-ErrorHub-Key", DashboardServer.ProjectKey);
        return await client.SendAsync(request);
    }
}
