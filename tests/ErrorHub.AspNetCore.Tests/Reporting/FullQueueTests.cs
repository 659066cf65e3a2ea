using System.Collections.Concurrent;
using ErrorHub.Internal;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Reporting;

/// <summary>
/// An exception storm against an ingest that does not answer: once the queue is full, a failing request's exception is
/// refused before anything is made of it (no event, no BeforeSend), and counted as dropped when its request ends as a
/// failure; the server hears of the count with the next batch it takes.
/// </summary>
public sealed class FullQueueTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Exceptions_refused_by_a_full_queue_skip_BeforeSend_and_are_counted_as_queue_full_when_their_request_fails()
    {
        await using var ingest = await StalledIngestAsync();
        var beforeSend = new ConcurrentQueue<string?>();
        await using var app = await StartAppAsync(ingest.Dsn(), beforeSend);
        var client = app.Services.GetRequiredService<ErrorHubClient>();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        (await http.GetAsync("/fail?n=1").WaitAsync(Guard)).StatusCode.Should().Be(System.Net.HttpStatusCode.InternalServerError);
        await FillAsync(ingest, http, client, beforeSend);

        await http.GetAsync("/invalid?n=4").WaitAsync(Guard); // refused, but the app answered 400: handled, not a drop
        await http.GetAsync("/fail?n=5").WaitAsync(Guard);
        await http.GetAsync("/fail?n=6").WaitAsync(Guard);
        await WaitUntilAsync(() => client.Sender!.Drops.Total(Transport.SdkDropReason.QueueFull) == 2);

        beforeSend.Should().Equal(["1", "2", "3"], "an exception the full queue refuses is not made into an event");
        ingest.ReleaseHanging();
        (await client.FlushAsync(Guard)).Should().BeTrue();

        var batches = ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()).ToList();
        batches.SelectMany(b => b["events"].AsList()).Select(e => e.AsMap()["tags"].AsMap()["n"]).Should().Equal("1", "2", "3");
        var dropped = batches.Where(b => b.Keys.Contains("dropped")).Should().ContainSingle("the count travels once, with the next batch").Subject["dropped"].AsMap().Entries.ToDictionary(p => (string)p.Key, p => Convert.ToInt64(p.Value, System.Globalization.CultureInfo.InvariantCulture));
        dropped.Should().Equal(new Dictionary<string, long> { ["queue_full"] = 2 }, "requests 5 and 6 failed; request 4 was handled");
        client.Sender!.Drops.Total().Should().Be(2);
    }

    [Fact]
    public async Task An_exception_logged_after_the_full_queue_refused_it_is_neither_reported_nor_counted_twice()
    {
        await using var ingest = await StalledIngestAsync();
        var beforeSend = new ConcurrentQueue<string?>();
        await using var app = await StartAppAsync(ingest.Dsn(), beforeSend);
        var client = app.Services.GetRequiredService<ErrorHubClient>();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        await http.GetAsync("/fail?n=1").WaitAsync(Guard);
        await FillAsync(ingest, http, client, beforeSend);

        // The exception handler logs each of these at Error with the exception: the logger provider sees it after the middleware.
        for (var n = 4; n <= 7; n++)
        {
            await http.GetAsync($"/fail?n={n}").WaitAsync(Guard);
        }

        await WaitUntilAsync(() => client.Sender!.Drops.Total(Transport.SdkDropReason.QueueFull) >= 4);
        await Task.Delay(200); // a second count would come right after the first, in the same completion
        client.Sender!.Drops.Total(Transport.SdkDropReason.QueueFull).Should().Be(4);
        beforeSend.Should().HaveCount(3);
        ingest.ReleaseHanging();
    }

    /// <summary>
    /// With event 1 in flight: event 2 is taken into the next batch (of one), event 3 waits in the queue (of one place).
    /// Nothing more fits until ingest answers.
    /// </summary>
    private static async Task FillAsync(RecordingIngest ingest, HttpClient http, ErrorHubClient client, ConcurrentQueue<string?> beforeSend)
    {
        await ingest.WaitForRequestsAsync(1);
        await http.GetAsync("/fail?n=2").WaitAsync(Guard);
        // BeforeSend runs before the event is encoded and queued: wait until it is in the queue and taken out of it again.
        await WaitUntilAsync(() => beforeSend.Count == 2 && client.Sender!.EnqueuedCount == 2 && client.Sender!.QueuedCount == 0);
        await http.GetAsync("/fail?n=3").WaitAsync(Guard);
        await WaitUntilAsync(() => beforeSend.Count == 3);
    }

    /// <summary>An ingest on 127.0.0.1 that holds every batch without an answer (retries too) until released, then answers 202.</summary>
    private static async Task<RecordingIngest> StalledIngestAsync()
    {
        var ingest = await RecordingIngest.StartAsync();
        ingest.Answer(Enumerable.Range(0, 10).Select(_ => ingest.Hang()).ToArray());
        return ingest;
    }

    private static async Task<WebApplication> StartAppAsync(string dsn, ConcurrentQueue<string?> beforeSend)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddErrorHub(o =>
        {
            o.Dsn = dsn;
            o.MaxQueueSize = 1;
            o.MaxBatchSize = 1;
            o.BeforeSend = (e, _) =>
            {
                beforeSend.Enqueue(e.Tags.TryGetValue("n", out var n) ? n : null);
                return e;
            };
        });
        var app = builder.Build();
        app.UseExceptionHandler(handler => handler.Run(context =>
        {
            context.Response.StatusCode = context.Features.Get<IExceptionHandlerFeature>()?.Error is ArgumentException ? 400 : 500;
            return Task.CompletedTask;
        }));
        app.UseErrorHub();
        app.Use((context, next) =>
        {
            var errorHub = context.RequestServices.GetRequiredService<IErrorHubClient>();
            errorHub.ConfigureScope(s => s.SetTag("n", context.Request.Query["n"].ToString()));
            return next(context);
        });
        app.MapGet("/fail", () => Fail());
        app.MapGet("/invalid", () => Invalid());
        await app.StartAsync();
        return app;
    }

    private static string Fail() => throw new InvalidOperationException("the app failed");

    private static string Invalid() => throw new ArgumentException("no such order");

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
