namespace ErrorHub.Dashboard;

internal static class LoopbackDefaults
{
    /// <summary>Where the dashboard listens when nothing else is configured.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// The dashboard has no login yet, so it must not be reachable from other machines by accident.
    /// Any explicit choice wins: <c>--urls</c>, <c>ASPNETCORE_URLS</c>/<c>DOTNET_URLS</c>, <c>urls</c> in
    /// appsettings, <c>ASPNETCORE_HTTP_PORTS</c>/<c>HTTPS_PORTS</c> (set by the official container images),
    /// or Kestrel endpoints in configuration.
    /// </summary>
    public static IWebHostBuilder UseLoopbackUnlessConfigured(this IWebHostBuilder webHost, IConfiguration configuration)
    {
        var configured =
            !string.IsNullOrWhiteSpace(configuration["urls"]) ||
            !string.IsNullOrWhiteSpace(configuration["http_ports"]) ||
            !string.IsNullOrWhiteSpace(configuration["https_ports"]) ||
            configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();

        return configured ? webHost : webHost.UseUrls(DefaultUrl);
    }
}
