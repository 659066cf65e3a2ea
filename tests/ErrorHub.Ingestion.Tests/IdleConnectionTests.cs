using System.Net;
using System.Net.Sockets;
using ErrorHub.Server;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;
using Xunit.Abstractions;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// Sockets opened and never used: a server keeps a bounded number of them (docs/configuration.md, "Connections"), closes
/// those past the bound at once and idle ones after its keep-alive time, and meanwhile answers events and probes.
/// Every socket here is on loopback and closed at the end.
/// </summary>
public sealed class IdleConnectionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Open_connections_are_bounded_by_default_and_kestrels_own_settings_win()
    {
        await using (var byDefault = await IngestHost.StartAsync())
        {
            var limits = byDefault.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;
            limits.MaxConcurrentConnections.Should().Be(KestrelLimitsSetup.MaxConcurrentConnections, "Kestrel alone keeps any number");
            limits.MaxConcurrentUpgradedConnections.Should().Be(KestrelLimitsSetup.MaxConcurrentUpgradedConnections);
        }

        await using var configured = await IngestHost.StartAsync(new() { ["Kestrel:Limits:MaxConcurrentConnections"] = "50" });
        var configuredLimits = configured.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;
        configuredLimits.MaxConcurrentConnections.Should().Be(50, "Kestrel's own setting wins");
        configuredLimits.MaxConcurrentUpgradedConnections.Should().Be(KestrelLimitsSetup.MaxConcurrentUpgradedConnections, "a bound not given keeps its default");
    }

    [Fact]
    public async Task Connections_past_the_bound_are_closed_at_once_and_the_server_serves_again_when_the_idle_ones_go()
    {
        const int Bound = 50;
        const int Opened = 300;
        await using var host = await IngestHost.StartAsync(new() { ["Kestrel:Limits:MaxConcurrentConnections"] = Bound.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var idle = await OpenIdleAsync(host, Opened);
        try
        {
            // Kestrel's keep-alive time (130 s) is far off: only the bound closes connections within this wait.
            var closed = await CountClosedAsync(idle, atLeast: Opened - Bound, within: TimeSpan.FromSeconds(30));
            closed.Should().BeGreaterThanOrEqualTo(Opened - Bound, "a connection past the bound is closed when it arrives");
        }
        finally
        {
            Close(idle);
        }

        (await HealthyWithinAsync(host, TimeSpan.FromSeconds(30))).Should().BeTrue("the slots of the closed connections are free again");
        using var accepted = await host.PostAsync(Encode(SampleBatch.WithFreshIds().Batch));
        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted);
        host.Logs.Errors.Should().BeEmpty("a refused connection is a warning of Kestrel's, not an error");
    }

    [Fact]
    public async Task A_thousand_idle_connections_leave_ingest_answering_events_and_probes_and_are_closed_when_idle()
    {
        const int Opened = 1_000;
        await using var host = await IngestHost.StartAsync(new() { ["Kestrel:Limits:KeepAliveTimeout"] = "00:00:03" });
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var idle = await OpenIdleAsync(host, Opened);
        await Task.Delay(500); // the server has accepted them all
        var perConnection = (GC.GetTotalMemory(forceFullCollection: true) - before) / Opened;
        output.WriteLine($"managed memory per idle connection, client and server side together: {perConnection} bytes");
        try
        {
            using (var accepted = await host.PostAsync(Encode(SampleBatch.WithFreshIds().Batch)))
            {
                accepted.StatusCode.Should().Be(HttpStatusCode.Accepted, "idle sockets hold no thread and no buffer");
            }

            using (var healthz = await host.Client.GetAsync("/healthz"))
            {
                healthz.StatusCode.Should().Be(HttpStatusCode.OK);
            }

            var closed = await CountClosedAsync(idle, atLeast: Opened, within: TimeSpan.FromSeconds(60));
            closed.Should().Be(Opened, "a connection that sends nothing is closed after the keep-alive time");
        }
        finally
        {
            Close(idle);
        }

        host.Logs.Errors.Should().BeEmpty();
    }

    /// <summary>Sockets connected and never written to, each with a read pending that ends when the server closes it.</summary>
    private static async Task<List<(TcpClient Client, Task Closed)>> OpenIdleAsync(IngestHost host, int count)
    {
        var idle = new List<(TcpClient, Task)>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var client = new TcpClient();
                idle.Add((client, Task.CompletedTask));
                await client.ConnectAsync(IPAddress.Loopback, host.BaseAddress.Port);
                idle[i] = (client, ClosedByServerAsync(client));
            }
        }
        catch
        {
            Close(idle);
            throw;
        }

        return idle;
    }

    private static async Task ClosedByServerAsync(TcpClient client)
    {
        var buffer = new byte[1];
        try
        {
            while (await client.GetStream().ReadAsync(buffer) > 0)
            {
            }
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or SocketException)
        {
            // reset by the server, or closed here at the end
        }
    }

    private static async Task<int> CountClosedAsync(List<(TcpClient Client, Task Closed)> idle, int atLeast, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        while (!timeout.IsCancellationRequested && idle.Count(socket => socket.Closed.IsCompleted) < atLeast)
        {
            await Task.Delay(100, CancellationToken.None);
        }

        return idle.Count(socket => socket.Closed.IsCompleted);
    }

    private static async Task<bool> HealthyWithinAsync(IngestHost host, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        while (!timeout.IsCancellationRequested)
        {
            try
            {
                using var response = await host.Client.GetAsync("/healthz", timeout.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException)
            {
                // still full: the server closed this connection too
            }

            await Task.Delay(100, CancellationToken.None);
        }

        return false;
    }

    private static void Close(List<(TcpClient Client, Task Closed)> idle)
    {
        foreach (var (client, _) in idle)
        {
            client.Dispose();
        }
    }
}
