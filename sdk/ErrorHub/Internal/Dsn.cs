using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace ErrorHub.Internal;

/// <summary>
/// A parsed DSN, <c>http(s)://&lt;publicKey&gt;@&lt;host&gt;[:port][/path]/&lt;projectId&gt;</c>: one string that
/// says where to send events and with which key.
/// </summary>
internal sealed record Dsn(string PublicKey, int ProjectId, Uri EventsUri)
{
    public static Dsn Parse(string value) =>
        TryParse(value, out var dsn, out var error) ? dsn : throw new FormatException(error);

    public static bool TryParse(string? value, [NotNullWhen(true)] out Dsn? dsn, [NotNullWhen(false)] out string? error)
    {
        dsn = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = "the DSN is empty";
            return false;
        }

        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            error = "the DSN must be an absolute http:// or https:// URL like http://<publicKey>@<host>:<port>/<projectId>";
            return false;
        }

        var publicKey = Uri.UnescapeDataString(uri.UserInfo.Split(':')[0]);
        if (publicKey.Length == 0)
        {
            error = "the DSN has no public key: put it before the host, as in http://<publicKey>@<host>/<projectId>";
            return false;
        }

        var path = uri.AbsolutePath.TrimEnd('/');
        var lastSlash = path.LastIndexOf('/');
        var projectText = path[(lastSlash + 1)..];
        if (!int.TryParse(projectText, NumberStyles.None, CultureInfo.InvariantCulture, out var projectId) || projectId <= 0)
        {
            error = $"the DSN must end with a positive project id, not '{projectText}'";
            return false;
        }

        // Anything between the host and the project id is a path prefix (ErrorHub behind a reverse proxy).
        var prefix = path[..lastSlash];
        var events = new UriBuilder(uri.Scheme, uri.Host, uri.Port, $"{prefix}/api/{projectId}/events").Uri;
        dsn = new Dsn(publicKey, projectId, events);
        error = null;
        return true;
    }
}
