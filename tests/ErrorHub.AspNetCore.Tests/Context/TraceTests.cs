using System.Diagnostics;
using ErrorHub.AspNetCore.Tests.Infrastructure;
using ErrorHub.AspNetCore.Tests.Reporting;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

// The test app logs the way apps do, with arguments that are cheap here.
#pragma warning disable CA1873

namespace ErrorHub.AspNetCore.Tests.Context;

/// <summary>
/// The trace an event belongs to, and what ErrorHub does not make hosting do per request. An <see cref="ActivityListener"/>
/// is process-wide, so these tests run alone.
/// </summary>
[Collection(nameof(TraceTests))]
[CollectionDefinition(nameof(TraceTests), DisableParallelization = true)]
public sealed class TraceTests
{
    [Fact]
    public async Task An_event_carries_the_trace_and_span_of_the_requests_Activity_when_the_app_traces()
    {
        // What OpenTelemetry's ASP.NET Core instrumentation does: listen to hosting's activities, so each request has one.
        using var tracing = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(tracing);
        string? traceId = null, spanId = null;
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub();
            pipeline.MapGet("/cart/{id}/checkout", (string id) =>
            {
                (traceId, spanId) = (Activity.Current?.TraceId.ToHexString(), Activity.Current?.SpanId.ToHexString());
                return Shop.Checkout(id);
            });
        });

        await app.GetAsync("/cart/42/checkout");

        var e = app.Events.Should().ContainSingle().Subject;
        traceId.Should().MatchRegex("^[0-9a-f]{32}$");
        e.Tags["trace_id"].Should().Be(traceId);
        e.Tags["span_id"].Should().Be(spanId);
    }

    [Fact]
    public async Task Of_the_scopes_every_logging_app_gets_per_request_only_the_request_id_becomes_a_tag_and_the_apps_own_keys_stay()
    {
        string? requestId = null;
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseErrorHub();
                pipeline.MapGet("/cart/{id}/checkout", (string id, HttpContext context, ILoggerFactory logs) =>
                {
                    requestId = context.TraceIdentifier;
                    var logger = logs.CreateLogger("Shop.Checkout");

                    // An app's own key may share a name with the framework's: it is the app's, and kept.
                    using var order = logger.BeginScope(new Dictionary<string, object?> { ["TenantId"] = "acme", ["ParentId"] = "order-7" });
                    try
                    {
                        return Shop.Checkout(id);
                    }
                    catch (InvalidOperationException exception)
                    {
                        logger.LogError(exception, "Checkout of {Cart} failed", id);
                        throw;
                    }
                });
            },
            // What every app with logging has: a provider that hosting's entries reach, so hosting opens its request
            // scope and an Activity, Kestrel its connection scope and the logger factory the Activity's.
            services: services => services.AddSingleton<ILoggerProvider, SilentLoggerProvider>());

        (await app.GetAsync("/cart/42/checkout")).Should().Be(500);

        var e = app.Events.Should().ContainSingle().Subject;
        requestId.Should().NotBeNullOrEmpty();
        e.Tags.Should().Contain("RequestId", requestId!, "the id the app's own log lines carry finds them");
        e.Tags.Should().Contain("TenantId", "acme").And.Contain("ParentId", "order-7");
        e.Tags.Keys.Should().NotContain(["RequestPath", "ConnectionId", "TraceId", "SpanId"], "the URL and the trace tags carry them already");
        e.Tags.Should().ContainKey("trace_id");
        e.Request!.Url.Should().EndWith("/cart/42/checkout");
    }

    [Fact]
    public async Task Without_an_Activity_an_event_takes_the_trace_id_of_the_callers_traceparent_and_ignores_a_malformed_one()
    {
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub();
            pipeline.MapGet("/cart/{id}/checkout", (string id) => Shop.Checkout(id));
        });

        foreach (var traceParent in new[]
        {
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case is not W3C
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // the invalid all-zero id
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",   // cut short
            "00-<script>alert(1)</script>-" + new string('f', 5000),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/cart/42/checkout");
            request.Headers.TryAddWithoutValidation("traceparent", traceParent);
            using var response = await app.Http.SendAsync(request);
        }

        await app.GetAsync("/wait-for-the-requests-to-complete");
        app.Events.Select(e => e.Tags.TryGetValue("trace_id", out var traceId) ? traceId : null)
            .Should().Equal("4bf92f3577b34da6a3ce929d0e0e4736", null, null, null, null);
    }


    [Fact]
    public async Task ASP_NET_Cores_own_per_request_entries_are_not_breadcrumbs_by_default_and_hosting_starts_no_activity_for_them()
    {
        Activity? seen = null;
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub();
            pipeline.MapGet("/checkout", (ILoggerFactory logs) =>
            {
                seen = Activity.Current;
                logs.CreateLogger("Shop.Checkout").LogInformation("Pricing bundle {Bundle}", "holiday");
                return Shop.Checkout("holiday");
            });
        });

        (await app.GetAsync("/checkout")).Should().Be(500);

        var e = app.Events.Should().ContainSingle().Subject;
        e.Breadcrumbs.Should().ContainSingle(b => b.Message == "Pricing bundle holiday", "the app's own Information entries stay breadcrumbs");
        e.Breadcrumbs.Should().NotContain(b => b.Category!.StartsWith("Microsoft.AspNetCore"), "ASP.NET Core's are from Warning up by default");
        e.Tags.Keys.Should().NotContain(["RequestId", "RequestPath"], "hosting's log scope is not made for ErrorHub alone");
        seen.Should().BeNull("ErrorHub alone does not make hosting start an Activity and a log scope for every request");
    }
}
