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
        try
        {
            configuration.GetSection(SectionName).Bind(options.Limits);
        }
        catch (InvalidOperationException)
        {
            // A value that is not one of its type ('abc' for a size). Kestrel reads its options while the app is built, before
            // the host's run can end a failed start with exit code 1 and one line (an abort with a stack trace, it was):
            // ThrowIfUnconvertible fails the start on it instead, and these limits are never served.
        }
    }

    /// <summary>
    /// Fails the start (with the configuration binder's exception, naming the key, the value and the type) when a value of
    /// the <c>Kestrel:Limits</c> section cannot be converted to its limit's type. Called while the server's options are
    /// validated at start, where <see cref="Microsoft.AspNetCore.Builder.ErrorHubHostRunExtensions.RunErrorHubAsync"/>
    /// turns it into exit code 1.
    /// </summary>
    public static void ThrowIfUnconvertible(IConfiguration configuration) =>
        configuration.GetSection(SectionName).Bind(new KestrelServerOptions().Limits);
}
