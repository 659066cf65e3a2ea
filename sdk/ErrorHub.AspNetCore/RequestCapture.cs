using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

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

    /// <summary>
    /// A form field with one of these words in its name is filtered (<c>newPassword</c>, <c>card_number</c>,
    /// <c>client-secret</c>, <c>__RequestVerificationToken</c>); <c>keyword</c> or <c>author</c> are not. Forms carry
    /// what users type, so the rule is wider than the query string's exact names.
    /// </summary>
    private static readonly HashSet<string> SensitiveWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "password", "passwd", "pwd", "pass", "secret", "token", "key", "apikey", "session", "sessionid", "card", "cardnumber",
        "cvv", "cvc", "iban", "pin", "csrf", "xsrf", "auth", "otp", "ssn",
    };

    private const int MaxFormFields = 50;

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

            info.Headers[name] = string.Equals(name, "Cookie", StringComparison.OrdinalIgnoreCase) ? CookieNames(request)
                : IsScrubbed(name, options) ? Filtered
                : Truncate(values.ToString());
        }

        AddForm(info, context);
        errorEvent.Request = info;
        errorEvent.Tags.TryAdd("http.method", request.Method);
        // UseExceptionHandler clears the endpoint before its handler runs (and events are completed after it);
        // it keeps the failed request's endpoint on its feature.
        var endpoint = context.GetEndpoint() ?? context.Features.Get<IExceptionHandlerFeature>()?.Endpoint;
        if (endpoint?.DisplayName is { } displayName)
        {
            errorEvent.Tags.TryAdd("endpoint", Truncate(displayName));
        }

        // The route template names the failing endpoint better than a lambda's compiler name (Program.<Main>b__0_3).
        if (endpoint is RouteEndpoint { RoutePattern.RawText: { } template })
        {
            errorEvent.Tags.TryAdd("route", Truncate($"{request.Method} {(template.StartsWith('/') ? template : "/" + template)}"));
        }

        var (browser, clientOs) = UserAgentParser.Parse(request.Headers.UserAgent.ToString());
        if (browser is not null)
        {
            errorEvent.Tags.TryAdd("browser", browser);
        }

        if (clientOs is not null)
        {
            errorEvent.Tags.TryAdd("client_os", clientOs);
        }

        // Without an Activity (an app that neither traces nor logs anywhere but to ErrorHub) the caller's trace context
        // still names the trace the failure belongs to.
        if (!errorEvent.Tags.ContainsKey("trace_id") && TraceIdOf(request.Headers.TraceParent.ToString()) is { } traceId)
        {
            errorEvent.Tags["trace_id"] = traceId;
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

    /// <summary>The trace id of a W3C <c>traceparent</c> header (<c>00-&lt;32 hex&gt;-&lt;16 hex&gt;-&lt;2 hex&gt;</c>), or null.</summary>
    internal static string? TraceIdOf(string traceParent)
    {
        if (traceParent.Length < 55 || traceParent[2] != '-' || traceParent[35] != '-' || traceParent[52] != '-')
        {
            return null;
        }

        var traceId = traceParent.AsSpan(3, 32);
        foreach (var c in traceId)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return null;
            }
        }

        return traceId.ContainsAnyExcept('0') ? traceId.ToString() : null;
    }

    /// <summary>The names of the cookies sent, never their values: which cookies a failing request had can matter.</summary>
    private static string CookieNames(HttpRequest request) =>
        request.Cookies.Count == 0 ? Filtered : Truncate(string.Join("; ", request.Cookies.Keys.Take(MaxHeaders).Select(name => $"{name}={Filtered}")));

    /// <summary>
    /// Form fields of a request whose form the app already read (ErrorHub never reads a body itself), sensitive
    /// ones filtered, files by name only. They travel as extra values "form.&lt;name&gt;".
    /// </summary>
    private static void AddForm(RequestInfo info, HttpContext context)
    {
        if (context.Features.Get<IFormFeature>()?.Form is not { } form)
        {
            return;
        }

        foreach (var (name, values) in form.Take(MaxFormFields))
        {
            info.Form[name] = IsSensitiveName(name) ? Filtered : Truncate(values.ToString());
        }

        foreach (var file in form.Files.Take(MaxFormFields))
        {
            info.Form.TryAdd(file.Name, $"[file {file.FileName}, {file.Length} bytes]");
        }
    }

    /// <summary>True when a word of the name (split at _ - . [ ] spaces and lower-to-upper case changes) is sensitive.</summary>
    internal static bool IsSensitiveName(string name)
    {
        var start = 0;
        for (var i = 1; i <= name.Length; i++)
        {
            var boundary = i == name.Length || !char.IsLetterOrDigit(name[i]) || (char.IsUpper(name[i]) && char.IsLower(name[i - 1]));
            if (!boundary)
            {
                continue;
            }

            if (i > start && SensitiveWords.Contains(name.AsSpan(start, i - start).Trim("_-.[] ").ToString()))
            {
                return true;
            }

            start = i < name.Length && !char.IsLetterOrDigit(name[i]) ? i + 1 : i;
        }

        return false;
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
