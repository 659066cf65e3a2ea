using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;

namespace ErrorHub.Server;

/// <summary>
/// The reverse proxies (nginx, Caddy, a load balancer) whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>
/// headers the server believes (<c>ErrorHub:ForwardedHeaders</c>). With neither list set, those headers are ignored:
/// a request's client address and scheme are the connection's, so a client cannot claim another address. With
/// either set, ASP.NET Core's forwarded headers middleware runs first and takes the client address and scheme from
/// requests that come from these proxies only; the <c>Host</c> header is never taken from a proxy.
/// </summary>
public sealed class ForwardedHeadersTrustOptions
{
    /// <summary>The proxies' own IP addresses, e.g. <c>10.0.0.5</c> (several separated by <c>,</c> or <c>;</c> also work in one value).</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks the proxies are in, in CIDR notation, e.g. <c>10.0.0.0/24</c> (several separated by <c>,</c> or <c>;</c> also work in one value).</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>True when a proxy is trusted: the forwarded headers are read.</summary>
    internal bool Enabled => Entries(KnownProxies).Any() || Entries(KnownNetworks).Any();

    /// <summary>
    /// Adds a list given as one value (<c>ErrorHub__ForwardedHeaders__KnownProxies=10.0.0.5</c>, as a container sets it), which
    /// the configuration binder leaves out: it binds a list from numbered entries only (<c>...__KnownProxies__0</c>, a JSON array).
    /// </summary>
    internal void AddSingleValues(IConfigurationSection section)
    {
        if (section[nameof(KnownProxies)] is { Length: > 0 } proxies)
        {
            KnownProxies.Add(proxies);
        }

        if (section[nameof(KnownNetworks)] is { Length: > 0 } networks)
        {
            KnownNetworks.Add(networks);
        }
    }

    /// <summary>The entries of a list as written, each value split at commas and semicolons, trimmed, empty ones left out.</summary>
    internal static IEnumerable<string> Entries(IEnumerable<string?> values) =>
        values.SelectMany(value => (value ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>
    /// An IPv4 address in its four-number form, or an IPv6 address; null otherwise. <see cref="IPAddress.TryParse(string, out IPAddress)"/>
    /// alone also takes "10.1" (10.0.0.1) or "010.0.0.1" (octal), which are more likely mistakes than meant.
    /// </summary>
    internal static IPAddress? ParseAddress(string text)
    {
        if (!IPAddress.TryParse(text, out var address))
        {
            return null;
        }

        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork when address.ToString() == text => address,
            AddressFamily.InterNetworkV6 when text.Contains(':', StringComparison.Ordinal) && address.ScopeId == 0 => address,
            _ => null,
        };
    }

    /// <summary>A network such as 10.0.0.0/24, its address written as <see cref="ParseAddress"/> wants it; null otherwise.</summary>
    internal static IPNetwork? ParseNetwork(string text)
    {
        // The address must be the network's own (10.0.0.0/24, not 10.0.0.1/24): a set bit past the prefix is a typo or a
        // misunderstanding, which IPNetwork.TryParse would quietly mask away.
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && ParseAddress(text[..slash]) is { } address && IPNetwork.TryParse(text, out var network) && network.BaseAddress.Equals(address)
            ? network
            : null;
    }
}
