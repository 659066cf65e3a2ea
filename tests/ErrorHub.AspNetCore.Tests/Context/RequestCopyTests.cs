using System.Security.Claims;
using System.Text;
using ErrorHub.Internal;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Context;

/// <summary>
/// The request thread only copies references to its request; the URL, the scrubbed query and headers and the cookie
/// names are made from that copy when the event is written, by the background sender, long after the request ended
/// and after the server reused the connection's request objects for other requests. What arrives at a real ingest must
/// be what the failing request was, scrubbed, and nothing of the requests that came after it.
/// </summary>
public sealed class RequestCopyTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task An_event_written_after_its_request_was_recycled_carries_that_request_scrubbed_with_its_user_and_frames()
    {
        await using var ingest = await RecordingIngest.StartAsync();
        ingest.Answer(ingest.Hang()); // the first batch stays in flight, so the event of interest waits in the queue
        await using var app = await StartAppAsync(ingest.Dsn());
        var client = app.Services.GetRequiredService<ErrorHubClient>();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        await http.GetAsync("/fail?n=1").WaitAsync(Guard);
        await ingest.WaitForRequestsAsync(1);
        using (var failing = new HttpRequestMessage(HttpMethod.Get, "/fail?n=2&token=query-s3cr3t&bundle=holiday"))
        {
            failing.Headers.Add("X-Request-Source", "checkout");
            failing.Headers.Add("X-User", "alice");
            failing.Headers.Add("Authorization", "Bearer bearer-s3cr3t");
            failing.Headers.Add("Cookie", "session=cookie-s3cr3t; cart=cart-s3cr3t");
            failing.Headers.Add("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36");
            (await http.SendAsync(failing).WaitAsync(Guard)).StatusCode.Should().Be(System.Net.HttpStatusCode.InternalServerError);
        }

        // The same keep-alive connection serves other requests: the server reuses its request objects for them.
        for (var i = 0; i < 20; i++)
        {
            using var other = new HttpRequestMessage(HttpMethod.Get, $"/ok?other={i}");
            other.Headers.Add("X-Request-Source", $"other-{i}");
            other.Headers.Add("Cookie", $"other{i}=x");
            (await http.SendAsync(other).WaitAsync(Guard)).EnsureSuccessStatusCode();
        }

        ingest.ReleaseHanging();
        (await client.FlushAsync(Guard)).Should().BeTrue();

        var events = ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => e.AsMap()).ToList();
        var sent = events.Single(e => e["tags"].AsMap()["n"] as string == "2");
        var request = sent["request"].AsMap();
        request["method"].Should().Be("GET");
        request["url"].Should().Be($"{app.Urls.First()}/fail");
        request["query_string"].Should().Be("n=2&token=[Filtered]&bundle=holiday");
        var headers = request["headers"].AsMap();
        headers["X-Request-Source"].Should().Be("checkout");
        headers["Authorization"].Should().Be("[Filtered]");
        headers["Cookie"].Should().Be("session=[Filtered]; cart=[Filtered]");
        headers.Keys.Should().Contain("Host").And.Contain("User-Agent");
        var tags = sent["tags"].AsMap();
        tags["browser"].Should().Be("Chrome 131");
        tags["route"].Should().Be("GET /fail");
        sent["user"].AsMap()["id"].Should().Be("alice");
        var frames = sent["exceptions"].AsList()[0].AsMap()["frames"].AsList().Select(f => f.AsMap()).ToList();
        frames[0]["function"].Should().Be(nameof(Fail), "the frames are those of the moment of capture");

        var body = string.Join("\n", ingest.Requests.Select(r => Encoding.UTF8.GetString(r.Body)));
        body.Should().NotContain("s3cr3t");
        Wire.Describe(sent).Should().NotContain("other", "nothing of the requests served after it");
    }

    [Fact]
    public void A_request_nobody_read_is_written_byte_for_byte_as_one_whose_values_were_read()
    {
        var options = new ErrorHubOptions();
        options.ScrubbedHeaders.Add("X-Partner-Token");
        var unread = new ErrorHubEvent();
        var read = new ErrorHubEvent { EventId = unread.EventId, Timestamp = unread.Timestamp };
        RequestCapture.Enrich(unread, BrowserRequest(), options);
        RequestCapture.Enrich(read, BrowserRequest(), options);

        read.Request!.Headers.Should().ContainKey("User-Agent"); // a BeforeSend that looked: the values are made
        var direct = Encode(unread);

        unread.Request!.UnreadSnapshot.Should().NotBeNull("writing must not fill the request's values");
        direct.Should().Equal(Encode(read));
        Wire.Describe(Wire.Read(direct)).Should().Contain("session=[Filtered]; cart=[Filtered]").And.NotContain("s3cr3t");
    }

    private static HttpContext BrowserRequest()
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = "POST";
        request.Scheme = "https";
        request.Host = new HostString("shop.example.com");
        request.PathBase = "/store";
        request.Path = "/cart/42/checkout";
        request.QueryString = new QueryString("?bundle=holiday&token=query-s3cr3t");
        request.Headers.Host = "shop.example.com";
        request.Headers.UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        request.Headers.Authorization = "Bearer bearer-s3cr3t";
        request.Headers.Cookie = "session=cookie-s3cr3t; cart=cart-s3cr3t";
        request.Headers["X-Partner-Token"] = "partner-s3cr3t";
        request.Headers["X-Forwarded-For"] = new Microsoft.Extensions.Primitives.StringValues(["203.0.113.7", "10.0.0.1"]);
        request.Headers.AcceptLanguage = "en-GB,en;q=0.9";
        return context;
    }

    private static byte[] Encode(ErrorHubEvent e)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        ErrorHub.Transport.EventWireWriter.WriteEvent(buffer, e);
        return buffer.WrittenSpan.ToArray();
    }

    private static async Task<WebApplication> StartAppAsync(string dsn)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddErrorHub(o => o.Dsn = dsn);
        var app = builder.Build();
        app.UseExceptionHandler(handler => handler.Run(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        }));
        app.Use((context, next) =>
        {
            // A signed-in user, as an authentication handler would set it.
            if (context.Request.Headers["X-User"] is [{ } user])
            {
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user)], "test"));
            }

            context.RequestServices.GetRequiredService<IErrorHubClient>().ConfigureScope(s => s.SetTag("n", context.Request.Query["n"].ToString()));
            return next(context);
        });
        app.UseErrorHub();
        app.MapGet("/fail", () => Fail());
        app.MapGet("/ok", () => "ok");
        await app.StartAsync();
        return app;
    }

    private static string Fail() => throw new InvalidOperationException("the app failed");
}
