using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;

namespace ErrorHub.AspNetCore;

/// <summary>Copies what an event needs out of the request, scrubbing secrets on the way.</summary>
internal static class RequestCapture
{
    internal const string Filtered = "[Filtered]";
    private const int MaxHeaders = 100;
    private const int MaxValueLength = 4096;

    /// <summary>Always filtered, whatever the options say: these carry credentials in every app.</summary>
    private static readonly string[] AlwaysScrubbedHeaders = ["Authorization", "Cookie", "Set-Cookie"];

    /// <summary>Query parameter names whose values are credentials often enough to never send them.</summary>
    private static readonly string[] SensitiveQueryKeys =
        ["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_token", "refresh_token", "auth", "key", "signature", "sig", "code", "session"];

    public static void Enrich(ErrorHubEvent errorEvent, HttpContext context, ErrorHubOptions options)
    {
        var request = context.Request;
        var info = new RequestInfo
        {
            Method = request.Method,
            Url = UriHelper.BuildAbsolute(request.Scheme, request.Host, request.PathBase, request.Path),
            QueryString = request.QueryString.HasValue ? ScrubQuery(request.QueryString.Value!) : null,
        };

        foreach (var (name, values) in request.Headers)
        {
            if (info.Headers.Count >= MaxHeaders)
            {
                break;
            }

            info.Headers[name] = IsScrubbed(name, options) ? Filtered : Truncate(values.ToString());
        }

        errorEvent.Request = info;
        errorEvent.Tags.TryAdd("http.method", request.Method);
        if (context.GetEndpoint()?.DisplayName is { } endpoint)
        {
            errorEvent.Tags.TryAdd("endpoint", Truncate(endpoint));
        }

        var user = CaptureUser(context, options);
        if (user is not null)
        {
            errorEvent.User = user;
        }
    }

    private static UserInfo? CaptureUser(HttpContext context, ErrorHubOptions options)
    {
        UserInfo? user = null;
        if (options.CaptureUser && context.User.Identity?.IsAuthenticated == true)
        {
            var principal = context.User;
            user = new UserInfo
            {
                Id = principal.FindFirstValue(ClaimTypes.NameIdentifier) ?? principal.FindFirstValue("sub"),
                Username = principal.Identity?.Name ?? principal.FindFirstValue("preferred_username") ?? principal.FindFirstValue("name"),
                Email = principal.FindFirstValue(ClaimTypes.Email) ?? principal.FindFirstValue("email"),
            };
        }

        if (options.CaptureClientIp && context.Connection.RemoteIpAddress is { } address)
        {
            user ??= new UserInfo();
            user.IpAddress = address.ToString();
        }

        return user is { Id: null, Username: null, Email: null, IpAddress: null } ? null : user;
    }

    private static bool IsScrubbed(string header, ErrorHubOptions options)
    {
        foreach (var name in AlwaysScrubbedHeaders)
        {
            if (string.Equals(name, header, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return options.ScrubbedHeaders.Contains(header);
    }

    internal static string ScrubQuery(string query)
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
            if (equals >= 0 && SensitiveQueryKeys.Any(s => decodedKey.Equals(s, StringComparison.OrdinalIgnoreCase)))
            {
                result.Append(key).Append('=').Append(Filtered);
            }
            else
            {
                result.Append(pair);
            }
        }

        return Truncate(result.ToString());
    }

    private static string Truncate(string value) => value.Length <= MaxValueLength ? value : value[..MaxValueLength];
}
