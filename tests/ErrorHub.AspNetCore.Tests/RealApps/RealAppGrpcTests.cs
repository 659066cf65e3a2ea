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
}
