using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace ErrorHub.Server;

/// <summary>
/// Kestrel's limits for both hosts: bounds on open connections, which Kestrel leaves unbounded (every idle socket a client
/// opens and never uses, or upgrades to a WebSocket, would be kept until memory or the process's file descriptors run out,
/// and the store's own connections and files need those descriptors too), then the <c>Kestrel:Limits</c> section, so that
/// Kestrel's own setting names (<c>Kestrel__Limits__MaxConcurrentConnections</c>, <c>...KeepAliveTimeout</c>) work and win:
/// ASP.NET Core binds the endpoints of the <c>Kestrel</c> section, not its limits. Past the bound Kestrel closes a new
/// connection at once (and logs it), so a client retries (the SDK does, and spools meanwhile) instead of the server
/// degrading for everyone.
/// </summary>
internal sealed class KestrelLimitsSetup(IConfiguration configuration) : IConfigureOptions<KestrelServerOptions>
{
    /// <summary>
    /// Open connections (HTTP/1.1 and HTTP/2, idle ones included). An SDK keeps one or two per sending process, a browser a
    /// few per tab; ten thousand covers a large fleet sending straight to one ingest (behind a load balancer, far fewer
    /// connections arrive), and holds under 100 MB when all are idle (under 10 KB each, measured).
    /// </summary>
    public const long MaxConcurrentConnections = 10_000;

    /// <summary>
    /// Connections upgraded to WebSockets, which Kestrel counts apart from <see cref="MaxConcurrentConnections"/>: the
    /// dashboard's open tabs (one Blazor circuit each); ingest has none.
    /// </summary>
    public const long MaxConcurrentUpgradedConnections = 1_000;

    public const string SectionName = "Kestrel:Limits";

    public void Configure(KestrelServerOptions options)
    {
        options.Limits.MaxConcurrentConnections = MaxConcurrentConnections;
        options.Limits.MaxConcurrentUpgradedConnections = MaxConcurrentUpgradedConnections;
        configuration.GetSection(SectionName).Bind(options.Limits);
    }
}
