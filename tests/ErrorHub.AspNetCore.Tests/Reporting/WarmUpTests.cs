using ErrorHub.AspNetCore.Tests.Infrastructure;
using ErrorHub.Internal;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Transport;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Reporting;

/// <summary>
/// The SDK's warm-up at start also compiles the report path of a request (the capture in the middleware's filter, the
/// request's scope and copy, the completion) without running it: an app and its ingest notice nothing of it, and the
/// first failing request is reported as it failed, once.
/// </summary>
public sealed class WarmUpTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task After_the_warm_up_nothing_was_sent_or_counted_and_the_first_failing_request_arrives_alone_as_it_failed()
    {
        await using var ingest = await RecordingIngest.StartAsync();
        var completed = new CompletedRequests();
        await using var app = await StartAppAsync(ingest.Dsn(), completed);
        var client = app.Services.GetRequiredService<ErrorHubClient>();
        var sender = client.Sender!;
        await sender.WarmUp.WaitAsync(Guard);

        ingest.Requests.Should().BeEmpty("the warm-up runs nothing of the report path: it only compiles it");
        sender.EnqueuedCount.Should().Be(0);
        sender.Drops.Total().Should().Be(0);

        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/42?token=secret");
        request.Headers.UserAgent.ParseAdd("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/120.0");
        (await http.SendAsync(request).WaitAsync(Guard)).StatusCode.Should().Be(System.Net.HttpStatusCode.InternalServerError);
        // The report is decided when the response completes, which may come after the client has its answer.
        await completed.WaitForAllAsync();
        (await client.FlushAsync(Guard)).Should().BeTrue();

        var batch = Wire.Read(ingest.Requests.Should().ContainSingle().Subject.Body).AsMap();
        batch.Keys.Should().NotContain("dropped");
        var errorEvent = batch["events"].AsList().Should().ContainSingle().Subject.AsMap();
        errorEvent["exceptions"].AsList()[0].AsMap()["value"].Should().Be("order 42 failed");
        var requestInfo = errorEvent["request"].AsMap();
        requestInfo["url"].Should().Be(app.Urls.First() + "/orders/42");
        requestInfo["query_string"].Should().Be("token=[Filtered]");
        errorEvent["tags"].AsMap()["order"].Should().Be("42", "the request's scope as of the failure");
        errorEvent["tags"].AsMap()["browser"].Should().Be("Firefox 120");
        var breadcrumbs = errorEvent["breadcrumbs"].AsList().Select(b => (string)b.AsMap()["message"]!).ToList();
        breadcrumbs.Last().Should().Be("loading order 42", "the request's breadcrumbs as of the failure come last, after the app's start");
        breadcrumbs.Should().NotContain(m => m.Contains("warm-up", StringComparison.OrdinalIgnoreCase));
        sender.Drops.Total().Should().Be(0);
    }

    [Fact]
    public void The_integration_names_the_types_of_its_report_path_and_preparing_them_runs_none_of_their_code()
    {
        // Compiling without running is what keeps the warm-up invisible; a list that named no optimized method of this
        // package would leave the request's copy and completion at the JIT's tier 0 in a storm's first seconds.
        using var services = new ServiceCollection().AddLogging().AddErrorHub(o => o.Dsn = null).BuildServiceProvider();
        var types = services.GetRequiredService<IRequestContext>().CapturePathTypes;

        types.Should().Contain([typeof(HttpRequestContext), typeof(RequestCapture), typeof(ErrorHubMiddleware)]);
        EventPathWarmUp.PrepareCapturePath(types, CancellationToken.None).Should().BeGreaterThan(10);

        // The runtime leaves a sealed interface implementation uncompiled when asked to prepare it (measured): such a
        // method marked optimized would be compiled on the first failing request after all, as before the warm-up.
        Optimized(types.Concat(ErrorHubClient.CapturePathTypes)).Where(m => m.IsVirtual && m.IsFinal).Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .Should().BeEmpty();
        EventPathWarmUp.PrepareCapturePath([typeof(Tripwire)], CancellationToken.None).Should().Be(1);
        Tripwire.Runs.Should().Be(0);
    }

    private static IEnumerable<System.Reflection.MethodInfo> Optimized(IEnumerable<Type> types)
    {
        const System.Reflection.BindingFlags Declared = System.Reflection.BindingFlags.DeclaredOnly | System.Reflection.BindingFlags.Instance
            | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic;
        foreach (var type in types)
        {
            foreach (var method in type.GetMethods(Declared))
            {
                if ((method.MethodImplementationFlags & System.Reflection.MethodImplAttributes.AggressiveOptimization) != 0)
                {
                    yield return method;
                }
            }

            foreach (var method in Optimized(type.GetNestedTypes(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)))
            {
                yield return method;
            }
        }
    }

    private static class Tripwire
    {
        public static int Runs;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public static void Report() => Runs++;
    }

    private static async Task<WebApplication> StartAppAsync(string dsn, CompletedRequests completed)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddErrorHub(o => o.Dsn = dsn);
        var app = builder.Build();
        app.Use(completed.Track);
        app.UseExceptionHandler(handler => handler.Run(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        }));
        app.UseErrorHub();
        app.MapGet("/orders/{id}", (string id, IErrorHubClient errorHub) =>
        {
            errorHub.ConfigureScope(s => s.SetTag("order", id));
            errorHub.AddBreadcrumb(new Breadcrumb($"loading order {id}"));
            return Fail(id);
        });
        await app.StartAsync();
        return app;
    }

    private static string Fail(string id) => throw new InvalidOperationException($"order {id} failed");
}
