using ErrorHub.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace ErrorHub.Server;

/// <summary>
/// The addresses the server shows to people and apps: links from <see cref="ErrorHubServerOptions.PublicUrl"/>,
/// DSNs from <see cref="ErrorHubServerOptions.IngestUrl"/> (else the public URL). Unconfigured, both are the
/// first address the server listens on, with a wildcard host shown as <c>localhost</c>.
/// </summary>
public sealed class ServerUrls
{
    private readonly ErrorHubServerOptions _options;
    private readonly IServer? _server;

    /// <summary>Creates the URLs from the validated options and, for the unconfigured case, the running server.</summary>
    public ServerUrls(IOptions<ErrorHubServerOptions> options, IServer? server = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _server = server;
    }

    /// <summary>Where people reach this server (ends with '/').</summary>
    public Uri Public => WithSlash(_options.PublicUrl) ?? Listening() ?? new Uri("http://localhost/");

    /// <summary>Where SDKs send events (ends with '/').</summary>
    public Uri Ingest => WithSlash(_options.IngestUrl) ?? Public;

    /// <summary>The one string that configures an SDK for <paramref name="project"/>.</summary>
    public string Dsn(Project project) => ProjectDsn.For(project, Ingest);

    /// <summary>An absolute link to a page of this server, from a path relative to its base, e.g. <c>projects/1/issues</c>.</summary>
    public Uri Link(string relativePath) => new(Public, relativePath.TrimStart('/'));

    private Uri? Listening()
    {
        var address = _server?.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null)
        {
            return null;
        }

        // Kestrel reports wildcard hosts as they were asked for: "+", "*", or any-address IPs.
        var shown = address
            .Replace("://+", "://localhost", StringComparison.Ordinal)
            .Replace("://*", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
            .Replace("://[::]", "://localhost", StringComparison.Ordinal);
        return WithSlash(shown);
    }

    private static Uri? WithSlash(string? url) =>
        url is not null && Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var uri) ? uri : null;
}
