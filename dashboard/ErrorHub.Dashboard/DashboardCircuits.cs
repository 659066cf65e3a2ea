using ErrorHub.Dashboard.Access;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ErrorHub.Dashboard;

/// <summary>
/// The limits of the dashboard's Blazor Server circuits and of their hub (<c>/_blazor</c>), written out rather than left to
/// the framework's defaults, so that they are seen, documented (docs/configuration.md, "Dashboard tabs") and kept when a
/// framework release moves a default; the one the framework lacks, tabs per account, is <see cref="OpenTabsPerAccount"/>.
/// </summary>
internal static class DashboardCircuits
{
    /// <summary>The largest message a tab may send (SignalR's default): a larger one ends that tab's connection.</summary>
    public const long MaximumReceiveMessageSize = 32 * 1024;

    /// <summary>How long a tab may stay silent (browsers ping every 15 seconds), and how long a new connection may take to ask for its circuit.</summary>
    public static readonly TimeSpan ClientTimeoutInterval = TimeSpan.FromSeconds(30);

    public static void AddDashboardCircuits(this IServiceCollection services)
    {
        services.AddSingleton<OpenTabsPerAccount>();
        services.TryAddSingleton<CircuitStartDeadline>();
        services.AddRazorComponents()
            .AddInteractiveServerComponents(circuits =>
            {
                // Tabs whose connection dropped wait this long, this many at most over all accounts, for the browser to come back.
                circuits.DisconnectedCircuitMaxRetained = 100;
                circuits.DisconnectedCircuitRetentionPeriod = TimeSpan.FromMinutes(3);

                // A call into the browser that gets no answer fails after this; render batches a tab has not acknowledged
                // stop further rendering for it beyond this many, so a tab that never answers holds no growing backlog.
                circuits.JSInteropDefaultCallTimeout = TimeSpan.FromMinutes(1);
                circuits.MaxBufferedUnacknowledgedRenderBatches = 10;
            })
            .AddHubOptions(hub =>
            {
                hub.MaximumReceiveMessageSize = MaximumReceiveMessageSize;
                hub.MaximumParallelInvocationsPerClient = 1;
                hub.HandshakeTimeout = TimeSpan.FromSeconds(15); // a connection that never says its protocol is closed
                hub.ClientTimeoutInterval = ClientTimeoutInterval; // counts only from a connection's first whole message:
                hub.AddFilter<CircuitStartDeadline>();             // until then, this bounds it
                hub.AddFilter<OpenTabsPerAccount>();
            });
    }
}
