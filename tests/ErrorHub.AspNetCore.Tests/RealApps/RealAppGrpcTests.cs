using ErrorHub.RealApps;
using ErrorHub.RealApps.Grpc;
using FluentAssertions;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// A gRPC service: every call answers HTTP 200, its outcome is in the grpc-status. An exception the service does not
/// handle (status UNKNOWN) is reported once, with the method's route and the caller's user; an
/// <see cref="RpcException"/> with a status the app chose (NOT_FOUND) is its answer, and is not reported.
/// </summary>
public sealed class RealAppGrpcTests
{
    [Fact]
    public async Task Grpc_reports_an_unhandled_service_exception_once_and_not_an_RpcException_status()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Grpc);
        using var channel = GrpcChannel.ForAddress(run.BaseAddress);
        var headers = new Metadata { { "x-user", "fay" } };

        var notFound = () => channel.CreateCallInvoker().AsyncUnaryCall(Inventory.Reserve, null, new CallOptions(headers), "SKU-1").ResponseAsync;
        (await notFound.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.NotFound);
        var failed = () => channel.CreateCallInvoker().AsyncUnaryCall(Inventory.Count, null, new CallOptions(headers), "SKU-2").ResponseAsync;
        (await failed.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unknown);

        var events = await run.EventsUpToAsync("Stock ledger for SKU-2 is unreadable");

        var reported = events.Should().ContainSingle("the NOT_FOUND was the service's answer").Subject;
        reported.Culprit.Should().Contain("InventoryService");
        reported.Tags.Should().Contain("grpc.status", "Unknown");
        RealAppKindsTests.AssertRequestAndUser(reported, "POST /inventory.Inventory/Count", "fay", "/inventory.Inventory/Count");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Grpc_streaming_methods_report_failures_before_and_mid_stream_once_and_not_a_stream_the_client_cancelled()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Grpc);
        using var channel = GrpcChannel.ForAddress(run.BaseAddress);
        var invoker = channel.CreateCallInvoker();
        var asGus = new CallOptions(new Metadata { { "x-user", "gus" } });

        // The caller's choices first, so that a wrong report of them would be at ingest before the last failure's. (A
        // client-streaming call the client resets is left out: gRPC may log Kestrel's "The client reset the request
        // stream" before Kestrel signals RequestAborted, and it is then reported; docs/sdk.md says so.)
        using (var cancel = new CancellationTokenSource())
        using (var live = invoker.AsyncServerStreamingCall(Inventory.Watch, null, asGus.WithCancellationToken(cancel.Token), "live-1"))
        {
            (await live.ResponseStream.MoveNext(CancellationToken.None)).Should().BeTrue();
            await cancel.CancelAsync();
            await ReadFailsWith(() => live.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Cancelled);
        }

        using (var retired = invoker.AsyncServerStreamingCall(Inventory.Watch, null, asGus, "retired-3"))
        {
            await ReadFailsWith(() => retired.ResponseStream.MoveNext(CancellationToken.None), StatusCode.NotFound);
        }

        // Server streaming: before the first message (a trailers-only answer), and after one.
        using (var closed = invoker.AsyncServerStreamingCall(Inventory.Watch, null, asGus, "closed-4"))
        {
            await ReadFailsWith(() => closed.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Unknown);
        }

        using (var gone = invoker.AsyncServerStreamingCall(Inventory.Watch, null, asGus, "gone-5"))
        {
            (await gone.ResponseStream.MoveNext(CancellationToken.None)).Should().BeTrue();
            await ReadFailsWith(() => gone.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Unknown);
        }

        // Client streaming, failing on its second message.
        using (var deliveries = invoker.AsyncClientStreamingCall(Inventory.Restock, null, asGus))
        {
            await deliveries.RequestStream.WriteAsync("sku-6");
            await deliveries.RequestStream.WriteAsync("lost-6");
            await ReadFailsWith(() => deliveries.ResponseAsync, StatusCode.Unknown);
        }

        // Bidirectional: before the first answer, and after one.
        using (var attic = invoker.AsyncDuplexStreamingCall(Inventory.Locate, null, asGus))
        {
            await attic.RequestStream.WriteAsync("attic-7");
            await ReadFailsWith(() => attic.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Unknown);
        }

        using (var locate = invoker.AsyncDuplexStreamingCall(Inventory.Locate, null, asGus))
        {
            await locate.RequestStream.WriteAsync("sku-8");
            (await locate.ResponseStream.MoveNext(CancellationToken.None)).Should().BeTrue();
            await locate.RequestStream.WriteAsync("attic-8");
            await ReadFailsWith(() => locate.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Unknown);
        }

        var events = await run.EventsUpToAsync("Floor plan has no shelf for attic-8");

        events.Should().HaveCount(5, "one per failure, none for the cancelled streams nor the NOT_FOUND: {0}", RealAppKindsTests.Describe(events));
        (string Message, string Method, string Culprit)[] failures =
        [
            ("Warehouse of closed-4 is closed", "Watch", "InventoryService"),
            ("Stock feed of gone-5 broke off", "Watch", "InventoryService"),
            ("Delivery lost-6 has no purchase order", "Restock", "InventoryService"),
            ("Floor plan has no shelf for attic-7", "Locate", "InventoryService"),
            ("Floor plan has no shelf for attic-8", "Locate", "InventoryService"),
        ];
        foreach (var (message, method, culprit) in failures)
        {
            var reported = RealAppKindsTests.Single(events, message);
            reported.Culprit.Should().Contain(culprit, message);
            RealAppKindsTests.AssertRequestAndUser(reported, $"POST /inventory.Inventory/{method}", "gus", $"/inventory.Inventory/{method}");
        }

        run.SdkLogNoise.Should().BeEmpty();
    }

    private static async Task ReadFailsWith(Func<Task> read, StatusCode status) =>
        (await read.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(status);
}
