using System.Text;

namespace ErrorHub.Internal;

/// <summary>
/// The query string an event reports, server's and browser page's alike: the values of parameters whose names carry
/// credentials often enough (<c>token</c>, <c>code</c>, <c>session</c>, ...) are replaced before they leave the process.
/// </summary>
internal static class QueryStrings
{
    internal const string Filtered = "[Filtered]";

    /// <summary>As long as any request value an event carries.</summary>
    internal const int MaxLength = 4096;

    /// <summary>Query parameter names whose values are credentials often enough to never send them.</summary>
    private static readonly string[] SensitiveKeys =
        ["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_token", "refresh_token", "auth", "key", "signature", "sig", "code", "session"];

    /// <summary><paramref name="query"/> (with or without its leading '?') without it, sensitive values filtered, cut to <see cref="MaxLength"/>.</summary>
    internal static string Scrub(string query)
    {
        var text = query.StartsWith('?') ? query[1..] : query;
        var result = new StringBuilder(text.Length);
        foreach (var pair in text.Split('&'))
        {
            if (result.Length > 0)
            {
                result.Append('&');
            }

            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? pair : pair[..equals];
            var decodedKey = Uri.UnescapeDataString(key.Replace('+', ' ')).Trim();
            if (equals >= 0 && SensitiveKeys.Any(s => decodedKey.Equals(s, StringComparison.OrdinalIgnoreCase)))
            {
                result.Append(key).Append('=').Append(Filtered);
            }
            else
            {
                result.Append(pair);
            }
        }

        return result.Length <= MaxLength ? result.ToString() : result.ToString(0, MaxLength);
    }
}
