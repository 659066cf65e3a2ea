using ErrorHub.Server;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// The hosts the dashboard answers for (ASP.NET Core's host filtering), unless <c>AllowedHosts</c> is
/// configured: the public and ingest URLs' hosts, hosts named in the listening addresses, and the loopback
/// names. A web page elsewhere that points its own DNS name at this server (DNS rebinding) sends its
/// own name as the Host and gets 400, so it cannot read the dashboard with the visitor's access.
/// </summary>
internal static class DashboardHosts
{
    private static readonly string[] Loopback = ["localhost", "127.0.0.1", "[::1]"];

    public static IReadOnlyList<string> Allowed(IConfiguration configuration)
    {
        var options = ErrorHubServerOptions.From(configuration);
        var hosts = new List<string>(Loopback);
        foreach (var url in new[] { options.PublicUrl, options.IngestUrl }.Concat(LoopbackUntilAdmin.ConfiguredUrls(configuration)))
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.HostNameType != UriHostNameType.Unknown
                && uri.Host is not ("0.0.0.0" or "[::]" or "::"))
            {
                hosts.Add(uri.HostNameType == UriHostNameType.IPv6 ? "[" + uri.IdnHost.Trim('[', ']') + "]" : uri.IdnHost);
            }
        }

        return [.. hosts.Distinct(StringComparer.OrdinalIgnoreCase)];
    }
}
