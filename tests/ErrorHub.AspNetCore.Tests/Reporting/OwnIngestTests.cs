using System.Collections.Concurrent;
using System.Net;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Reporting;

/// <summary>
/// An app whose DSN points at an ingest it hosts itself (ErrorHub's all-in-one reporting to itself): when that ingest fails
/// on one of the SDK's own batches, the failure is not reported (it would be posted to the endpoint that just failed, whose
/// failure would be reported again, without end), and a warning says so in the app's log.
/// </summary>
public sealed class OwnIngestTests
{
    private const string Key = "0123456789abcdef0123456789abcdef";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_failure_of_the_apps_own_ingest_on_the_sdks_batches_is_not_reported_in_a_loop_and_other_failures_still_are()
    {
        var port = FreePort.Next();
        var posts = new ConcurrentQueue<string>();
        var reported = new ConcurrentQueue<string>();
        var logs = new CapturingLoggerProvider();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Services.AddErrorHub(o =>
        {
            o.Dsn = $"http://{Key}@127.0.0.1:{port}/1";
            o.BeforeSend = (e, _) =>
            {
                reported.Enqueue(e.Exceptions[0].Value);
                return e;
            };
        });
        await using var app = builder.Build();
        // A store that refuses every batch: the ingest fails, the app answers 503 and asks for the retry at once, so the
        // SDK's six attempts at a batch (and, were each failure reported, the batches of those reports) come quickly.
        app.UseExceptionHandler(handler => handler.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "0";
            return Task.CompletedTask;
        }));
        app.UseErrorHub();
        app.MapPost("/api/{project:int}/events", (HttpContext context) =>
        {
            posts.Enqueue(context.Request.Headers["X-ErrorHub-Key"].ToString());
            throw new InvalidOperationException("the store refused the batch");
        });
        app.MapGet("/checkout", string () => throw new InvalidOperationException("the cart is empty"));
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        (await http.GetAsync("/checkout").WaitAsync(Guard)).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        await WaitUntilAsync(() => posts.Count >= 6);
        await Task.Delay(TimeSpan.FromSeconds(3));

        reported.Should().Equal(["the cart is empty"], "the app's own failure is reported; the ingest's failures on its batches are not");
        posts.Should().HaveCount(6, "the one batch is tried six times and given up; nothing more is posted")
            .And.OnlyContain(key => key == Key);
        logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("its own events", StringComparison.Ordinal))
            .Should().ContainSingle("the first of six failures is written, the others wait for the minute's summary")
            .Which.Message.Should().Contain("/api/1/events").And.Contain("the store refused the batch");

        // Another project's batch failing in the same ingest is a failure to report like any other.
        using var otherProject = new HttpRequestMessage(HttpMethod.Post, "/api/2/events") { Content = new StringContent("[]") };
        otherProject.Headers.Add("X-ErrorHub-Key", "fedcba9876543210fedcba9876543210");
        (await http.SendAsync(otherProject).WaitAsync(Guard)).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        await WaitUntilAsync(() => reported.Count == 2);
        reported.Should().Equal(["the cart is empty", "the store refused the batch"]);
        await app.StopAsync();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Guard;
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(until, "the condition should have come true by now");
            await Task.Delay(10);
        }
    }
}
