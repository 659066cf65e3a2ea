using Microsoft.Extensions.Configuration;

namespace ErrorHub.Server;

/// <summary>
/// The addresses a host was told to listen on, read as ASP.NET Core reads them: <c>urls</c> (<c>--urls</c>,
/// <c>ASPNETCORE_URLS</c>, <c>Urls</c>), else <c>http_ports</c>/<c>https_ports</c>, plus <c>Kestrel:Endpoints</c>.
/// </summary>
public static class ListenAddresses
{
    /// <summary>What the configuration names; empty when it names nothing and the host's own default applies.</summary>
    public static IReadOnlyList<string> Configured(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var urls = new List<string>();
        if (configuration["urls"] is { Length: > 0 } configuredUrls)
        {
            urls.AddRange(Split(configuredUrls));
        }
        else
        {
            urls.AddRange(Split(configuration["http_ports"]).Select(port => "http://*:" + port));
            urls.AddRange(Split(configuration["https_ports"]).Select(port => "https://*:" + port));
        }

        urls.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(endpoint => endpoint["Url"]).OfType<string>());
        return urls;
    }

    private static string[] Split(string? value) =>
        (value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
