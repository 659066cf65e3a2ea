using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// Until an admin exists, anyone who reaches the dashboard could claim it through the setup page, so it
/// listens on the loopback interface only, on the ports it was asked for, whatever the configuration says
/// (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c> as container images set it, Kestrel
/// endpoints), and says so in the log. Once an admin exists the configured addresses are used, from the
/// next start on. Runs as a hosted service after the store's schema and the configured admin, before the
/// web server starts: addresses placed in <see cref="IServerAddressesFeature"/> then win over configuration. A store that
/// could not make its tables at start is waited for up to <see cref="StoreWait"/>; if it is still not ready, whether an
/// admin exists cannot be read, and the safe side (loopback) is taken for this start.
/// </summary>
internal sealed partial class LoopbackUntilAdmin(
    IServer server,
    IConfiguration configuration,
    Accounts accounts,
    StoreSchemaState schema,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<LoopbackUntilAdmin> logger) : IHostedService
{
    /// <summary>How long the start waits for a store that could not make its tables at once, before it decides without it.</summary>
    internal static readonly TimeSpan StoreWait = TimeSpan.FromSeconds(15);

    /// <summary>Where the dashboard listens when nothing else is configured.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>True when this start listens on loopback although the configuration asked for more.</summary>
    public bool Restricted { get; private set; }

    /// <summary>The addresses configured, as given (for the log).</summary>
    public IReadOnlyList<string> Configured { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (server.Features.Get<IServerAddressesFeature>() is not { } addresses || addresses.Addresses.IsReadOnly)
        {
            return; // an in-memory test server has no addresses
        }

        Configured = ConfiguredUrls(configuration);
        if (!await StoreReadyAsync(cancellationToken))
        {
            // Whether an admin exists cannot be read: the safe side, as though none did, said in its own words. Once the
            // store is ready and has one, the log says a restart brings the configured addresses.
            if (Restrict(addresses))
            {
                LogRestrictedUntilStoreReady(logger, string.Join(", ", addresses.Addresses), string.Join(", ", Configured), StoreWait);
                _ = SayRestartOnceAdminKnownAsync();
            }

            return;
        }

        if (await accounts.AnyActiveAdminAsync(cancellationToken))
        {
            if (Configured.Any(url => !IsLoopback(url)) && string.IsNullOrEmpty(configuration["AllowedHosts"])
                && string.IsNullOrEmpty(configuration["ErrorHub:PublicUrl"]))
            {
                LogOnlyLoopbackHosts(logger, string.Join(", ", Configured));
            }

            return;
        }

        if (Restrict(addresses))
        {
            LogRestricted(logger, string.Join(", ", addresses.Addresses), string.Join(", ", Configured));
        }
    }

    /// <summary>
    /// Whether the store's tables exist, waiting up to <see cref="StoreWait"/> for a store that could not make them at once
    /// (one started at the same time, still coming up): its answer decides the addresses, which cannot change later.
    /// </summary>
    private async Task<bool> StoreReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await schema.Ready.WaitAsync(StoreWait, timeProvider, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task SayRestartOnceAdminKnownAsync()
    {
        try
        {
            await schema.Ready.WaitAsync(lifetime.ApplicationStopping);
            if (await accounts.AnyActiveAdminAsync(lifetime.ApplicationStopping))
            {
                LogRestartNeeded(logger, string.Join(", ", Configured));
            }
        }
        catch (Exception)
        {
            // stopping, or the store failed again: the restart note is a courtesy, the next start decides anyway
        }
    }

    /// <summary>Listens on loopback only, on the configured ports; true when that leaves out a configured address.</summary>
    private bool Restrict(IServerAddressesFeature addresses)
    {
        var loopback = Configured.Select(ToLoopback).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        addresses.Addresses.Clear();
        foreach (var url in loopback)
        {
            addresses.Addresses.Add(url);
        }

        // Over Kestrel endpoints from configuration or code too.
        addresses.PreferHostingUrls = true;
        Restricted = Configured.Any(url => !IsLoopback(url));
        return Restricted;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called once the first admin exists, so the log says how to get the configured addresses.</summary>
    public void AdminCreated()
    {
        if (Restricted)
        {
            LogRestartNeeded(logger, string.Join(", ", Configured));
        }
    }

    /// <summary>What the host would listen on: urls, else http_ports/https_ports, plus Kestrel endpoints; else the default.</summary>
    internal static IReadOnlyList<string> ConfiguredUrls(IConfiguration configuration) =>
        ListenAddresses.Configured(configuration) is { Count: > 0 } urls ? urls : [DefaultUrl];

    internal static bool IsLoopback(string url)
    {
        if (url.Contains("://unix:", StringComparison.OrdinalIgnoreCase))
        {
            return true; // a socket file is not reachable from another machine
        }

        var match = UrlPattern().Match(url);
        if (!match.Success)
        {
            return false;
        }

        var host = match.Groups["host"].Value.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    /// <summary>The same scheme and port on 127.0.0.1.</summary>
    internal static string ToLoopback(string url)
    {
        if (IsLoopback(url))
        {
            return url;
        }

        var match = UrlPattern().Match(url);
        if (!match.Success)
        {
            return DefaultUrl;
        }

        var scheme = match.Groups["scheme"].Value.ToLowerInvariant();
        var port = match.Groups["port"].Success ? match.Groups["port"].Value : scheme == "https" ? "443" : "80";
        return $"{scheme}://127.0.0.1:{port}";
    }

    [GeneratedRegex(@"^(?<scheme>https?)://(?<host>\[[^\]]*\]|[^:/]+)(:(?<port>\d+))?(/.*)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlPattern();

    [LoggerMessage(1, LogLevel.Warning,
        "No admin account exists yet, so the dashboard listens on {Loopback} only, not on {Configured}, until one does. " +
        "Create it with the setup link below, or set ErrorHub__Admin__Email and ErrorHub__Admin__Password; the configured addresses are used from the next start on")]
    private static partial void LogRestricted(ILogger logger, string loopback, string configured);

    [LoggerMessage(2, LogLevel.Warning, "An admin exists now: restart ErrorHub to listen on {Configured}")]
    private static partial void LogRestartNeeded(ILogger logger, string configured);

    [LoggerMessage(4, LogLevel.Warning,
        "The store has not made its tables within {Wait}, so whether an admin exists cannot be read: the dashboard listens on {Loopback} only, " +
        "not on {Configured}. Restart it once the store is ready (/readyz answers 200) to listen on the configured addresses")]
    private static partial void LogRestrictedUntilStoreReady(ILogger logger, string loopback, string configured, TimeSpan wait);

    [LoggerMessage(3, LogLevel.Warning,
        "Listening on {Configured}, but requests are answered only when they name localhost, 127.0.0.1 or [::1] as their host: " +
        "set ErrorHub:PublicUrl to the address people use (or AllowedHosts)")]
    private static partial void LogOnlyLoopbackHosts(ILogger logger, string configured);
}
