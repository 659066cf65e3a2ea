using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Security.Cryptography;
using ErrorHub.Internal;
using ErrorHub.Protocol;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Controllers;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Mvc.RazorPages.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace ErrorHub.AspNetCore;

/// <summary>Copies what an event needs out of the request, scrubbing secrets before they leave the process.</summary>
internal static class RequestCapture
{
    internal const string Filtered = QueryStrings.Filtered;
    private const int MaxHeaders = 100;
    private const int MaxValueLength = QueryStrings.MaxLength;

    /// <summary>Always filtered, whatever the options say: these carry credentials in every app.</summary>
    private static readonly string[] AlwaysScrubbedHeaders = ["Authorization", "Cookie", "Set-Cookie"];

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

    /// <summary>
    /// Adds the request, its tags and the user to an event, on the request's thread. The request itself is only copied
    /// here (references to its method, URL parts, headers and the form the app read); the URL, the scrubbed query and
    /// headers and the cookie names are made from that copy when the event's <see cref="RequestInfo"/> is first read:
    /// by the background sender, or by a BeforeSend that looks. What BeforeSend and the user hook need at once (the tags,
    /// the user) is made now.
    /// </summary>
    /// <remarks>
    /// <paramref name="failedEndpoint"/> is the endpoint that ran when an event held until the response completed was
    /// captured: by then <c>UseStatusCodePagesWithReExecute("/Error/{0}")</c> may have run the status page (after an
    /// exception filter answered a bare 500, say), which restores the path but leaves its own endpoint on the request.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Enrich(ErrorHubEvent errorEvent, HttpContext context, ErrorHubOptions options, Endpoint? failedEndpoint = null)
    {
        var request = context.Request;

        // UseExceptionHandler clears the endpoint before its handler runs, and UseExceptionHandler("/Home/Error") (the
        // MVC and Razor Pages templates) re-executes the request as the error page, whose endpoint and path it then has
        // when the response completes and the event is made. The feature keeps the failed request's: the failure is its.
        var failed = context.Features.Get<IExceptionHandlerFeature>();
        var failedPath = failed is { Path: { Length: > 0 } path } ? path : null;
        errorEvent.Request = new RequestInfo(new Snapshot(request, ReadForm(context), options, failedPath));
        errorEvent.Tags.TryAdd("http.method", request.Method);
        var endpoint = failed?.Endpoint ?? failedEndpoint ?? context.GetEndpoint();
        if (endpoint?.DisplayName is { } displayName)
        {
            errorEvent.Tags.TryAdd("endpoint", Truncate(displayName));
        }

        // The route template names the failing endpoint better than a lambda's compiler name (Program.<Main>b__0_3).
        if (endpoint is RouteEndpoint { RoutePattern.RawText: { } template })
        {
            errorEvent.Tags.TryAdd("route", RouteTag(request.Method, template));
        }

        // The handler method names the failing code where the JIT inlined it into the endpoint's generated delegate and no frame of
        // it is left (a Release build's small handler): grouping counts it in its frame's place (docs/grouping.md, "Version 11").
        if (endpoint is not null && HandlerName(endpoint, context, failed?.RouteValues) is { } handler)
        {
            errorEvent.Tags.TryAdd("handler", handler);
        }

        var (browser, clientOs) = ParseUserAgent(request.Headers.UserAgent.ToString());
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

    /// <summary>
    /// A Blazor circuit's failure: the page the user is on goes as its request (URL, scrubbed query, User-Agent), with
    /// the browser tags, as a WebAssembly page's in the browser; the connection's own request (<c>/_blazor</c>) is not
    /// the failure's.
    /// </summary>
    public static void EnrichWithPage(ErrorHubEvent errorEvent, HttpContext connection, string? pageUrl)
    {
        var userAgent = connection.Request.Headers.UserAgent.ToString();
        errorEvent.Request ??= BrowserPage.Describe(pageUrl, userAgent);
        var (browser, clientOs) = ParseUserAgent(userAgent);
        if (browser is not null)
        {
            errorEvent.Tags.TryAdd("browser", browser);
        }

        if (clientOs is not null)
        {
            errorEvent.Tags.TryAdd("client_os", clientOs);
        }
    }

    // A storm repeats the same request parts event after event: the last of each is remembered with what was made of
    // it (one entry each, swapped whole, so any thread may read and replace it), and made again only when it changes.
    // Parts that carry secrets are not kept: the query string is scrubbed each time, and the Cookie header is
    // remembered by its SHA-256 only, so that no static holds the last visitor's session.
    private static Remembered<RouteKey, string>? s_route;
    private static Remembered<string, (string? Browser, string? OperatingSystem)>? s_userAgent;
    private static Remembered<CookieDigest, string>? s_cookieNames;
    private static Remembered<UrlParts, string>? s_url;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string RouteTag(string method, string template) => Remember(ref s_route, new RouteKey(method, template), static key =>
        Truncate($"{key.Method} {(key.Template.StartsWith('/') ? key.Template : "/" + key.Template)}"));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (string? Browser, string? OperatingSystem) ParseUserAgent(string userAgent) =>
        Remember(ref s_userAgent, userAgent, static key => UserAgentParser.Parse(key));

    /// <summary>What <paramref name="make"/> makes of <paramref name="key"/>, made again only when the key changes.</summary>
    private static TValue Remember<TKey, TValue>(ref Remembered<TKey, TValue>? last, TKey key, Func<TKey, TValue> make)
        where TKey : IEquatable<TKey>
    {
        if (Volatile.Read(ref last) is { } remembered && remembered.Key.Equals(key))
        {
            return remembered.Value;
        }

        var value = make(key);
        Volatile.Write(ref last, new Remembered<TKey, TValue>(key, value));
        return value;
    }

    private sealed record Remembered<TKey, TValue>(TKey Key, TValue Value);

    private readonly record struct RouteKey(string Method, string Template);

    private readonly record struct CookieDigest(UInt128 First, UInt128 Second);

    private readonly record struct UrlParts(string Scheme, string? Host, string? PathBase, string? Path);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static UserInfo? CaptureUser(HttpContext context, ErrorHubOptions options) =>
        UserOf(options.CaptureUser ? SignedIn(context) : null, context.Connection.RemoteIpAddress, options);

    /// <summary>The user an event names: the signed-in principal's id, name and email, the client's IP when opted in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static UserInfo? UserOf(ClaimsPrincipal? signedIn, System.Net.IPAddress? address, ErrorHubOptions options)
    {
        UserInfo? user = null;
        if (options.CaptureUser && signedIn is { } principal && IsAuthenticated(principal))
        {
            // The principal is the app's (its own identity or principal class, a claims transformation's): a getter that
            // throws costs the event that field only. Thrown out of here, it lost the whole event.
            user = new UserInfo
            {
                Id = ClaimOf(principal, static p => p.FindFirstValue(ClaimTypes.NameIdentifier) ?? p.FindFirstValue("sub")),
                Username = ClaimOf(principal, static p => p.Identity?.Name)
                    ?? ClaimOf(principal, static p => p.FindFirstValue("preferred_username") ?? p.FindFirstValue("name")),
                Email = ClaimOf(principal, static p => p.FindFirstValue(ClaimTypes.Email) ?? p.FindFirstValue("email")),
            };
        }

        if (options.CaptureClientIp && address is not null)
        {
            user ??= new UserInfo();
            user.IpAddress = address.ToString();
        }

        return user is { Id: null, Username: null, Email: null, IpAddress: null } ? null : user;
    }

    private static bool IsAuthenticated(ClaimsPrincipal principal)
    {
        try
        {
            return principal.Identity?.IsAuthenticated == true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static string? ClaimOf(ClaimsPrincipal principal, Func<ClaimsPrincipal, string?> read)
    {
        try
        {
            return read(principal);
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>
    /// The request's user when signed in, else null. <see cref="HttpContext.User"/> of the server's own context makes an
    /// empty <see cref="ClaimsPrincipal"/> (with its identity) for a request that no authentication reached, and keeps it
    /// on the request: for every failing request of an app without sign-in. The authentication feature holds the user
    /// that sign-in set, and nothing otherwise; other contexts (a test's own) are asked as before.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ClaimsPrincipal? SignedIn(HttpContext context)
    {
        var principal = context is DefaultHttpContext ? context.Features.Get<IHttpAuthenticationFeature>()?.User : context.User;
        return principal is not null && IsAuthenticated(principal) ? principal : null;
    }

    /// <summary>The trace id of a W3C <c>traceparent</c> header (<c>00-&lt;32 hex&gt;-&lt;16 hex&gt;-&lt;2 hex&gt;</c>), or null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>
    /// The names of the cookies sent, never their values: which cookies a failing request had can matter. Parsed from
    /// the Cookie header by the same feature that parses <c>HttpRequest.Cookies</c>, off the request's thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string CookieNames(StringValues cookieHeader)
    {
        if (cookieHeader.Count != 1 || cookieHeader[0] is not { } header)
        {
            return ParseCookieNames(cookieHeader);
        }

        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(MemoryMarshal.AsBytes(header.AsSpan()), digest);
        var key = new CookieDigest(MemoryMarshal.Read<UInt128>(digest), MemoryMarshal.Read<UInt128>(digest[16..]));
        if (Volatile.Read(ref s_cookieNames) is { } last && last.Key == key)
        {
            return last.Value;
        }

        var names = ParseCookieNames(cookieHeader);
        Volatile.Write(ref s_cookieNames, new Remembered<CookieDigest, string>(key, names));
        return names;
    }

    private static string ParseCookieNames(StringValues cookieHeader)
    {
        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature { Headers = new HeaderDictionary { { HeaderNames.Cookie, cookieHeader } } });
        var cookies = new RequestCookiesFeature(features).Cookies;
        return cookies.Count == 0 ? Filtered : Truncate(string.Join("; ", cookies.Keys.Take(MaxHeaders).Select(name => $"{name}={Filtered}")));
    }

    /// <summary>
    /// Form fields of a request whose form the app already read (ErrorHub never reads a body itself), sensitive
    /// ones filtered, files by name only; copied on the request's thread (rare, and the form is the request's). Null
    /// when the app read no form.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Dictionary<string, string>? ReadForm(HttpContext context)
    {
        IFormCollection? form;
        try
        {
            form = context.Features.Get<IFormFeature>()?.Form;
        }
        catch (InvalidOperationException)
        {
            // A request whose antiforgery validation failed (UseAntiforgery, an endpoint that requires a token: a Blazor Web App's pages,
            // the Error page that re-executes a failed POST among them) throws on reading its form. The event goes without the form:
            // before, the whole event was lost (BlazingPizza's failed POST /orders, docs/sdk.md).
            return null;
        }

        if (form is null)
        {
            return null;
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, values) in form.Take(MaxFormFields))
        {
            fields[name] = IsSensitiveName(name) ? Filtered : Truncate(values.ToString());
        }

        foreach (var file in form.Files.Take(MaxFormFields))
        {
            fields.TryAdd(file.Name, $"[file {file.FileName}, {file.Length} bytes]");
        }

        return fields;
    }

    /// <summary>
    /// The request as the event needs it, copied by reference on the request's thread: strings and header values stay
    /// valid after the server recycles the request's objects. Scrubbed and cut when filled.
    /// </summary>
    private sealed class Snapshot : RequestSnapshot
    {
        private readonly string _method;
        private readonly string _scheme;
        private readonly HostString _host;
        private readonly PathString _pathBase;
        private readonly PathString _path;
        private readonly string? _query;
        private readonly KeyValuePair<string, StringValues>[] _headers;
        private readonly Dictionary<string, string>? _form;
        private readonly ErrorHubOptions _options;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Snapshot(HttpRequest request, Dictionary<string, string>? form, ErrorHubOptions options, string? failedPath)
        {
            _method = request.Method;
            _scheme = request.Scheme;
            _host = request.Host;
            _pathBase = request.PathBase;
            _path = failedPath is null ? request.Path : new PathString(failedPath);
            _query = request.QueryString.HasValue ? request.QueryString.Value : null;
            var headers = request.Headers;
            _headers = new KeyValuePair<string, StringValues>[Math.Min(headers.Count, MaxHeaders)];
            var count = 0;
            foreach (var header in headers)
            {
                if (count == _headers.Length)
                {
                    break;
                }

                _headers[count++] = header;
            }

            if (count < _headers.Length)
            {
                Array.Resize(ref _headers, count); // a header collection that counted more than it listed
            }

            _form = form;
            _options = options;
        }

        public override (string? Method, string? Url, string? QueryString, IDictionary<string, string> Headers, IDictionary<string, string> Form) Fill()
        {
            var headers = new Dictionary<string, string>(_headers.Length, StringComparer.OrdinalIgnoreCase);
            foreach (var (name, values) in _headers)
            {
                headers[name] = Value(name, values);
            }

            return (_method, Url(), Query(), headers, _form ?? new Dictionary<string, string>(StringComparer.Ordinal));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override bool TryReadForWire(out WireRequest request)
        {
            // A header collection lists each name once, whatever its case; one that did not would have its pairs merged
            // by the dictionary, so such a request is filled instead (a few dozen comparisons for a browser's headers).
            for (var i = 1; i < _headers.Length; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    if (string.Equals(_headers[i].Key, _headers[j].Key, StringComparison.OrdinalIgnoreCase))
                    {
                        request = default;
                        return false;
                    }
                }
            }

            try
            {
                var headers = new KeyValuePair<string, string>[_headers.Length];
                for (var i = 0; i < headers.Length; i++)
                {
                    headers[i] = new(_headers[i].Key, Value(_headers[i].Key, _headers[i].Value));
                }

                request = new WireRequest(_method, Url(), Query(), headers, _form);
                return true;
            }
            catch (Exception)
            {
                // Never thrown into the sender: the writer then fills the request, which reports it without its values.
                request = default;
                return false;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private string Url() => Remember(ref s_url, new UrlParts(_scheme, _host.Value, _pathBase.Value, _path.Value), static parts =>
            UriHelper.BuildAbsolute(parts.Scheme, parts.Host is null ? default : new HostString(parts.Host), new PathString(parts.PathBase), new PathString(parts.Path)));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private string? Query() => _query is null ? null : QueryStrings.Scrub(_query);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private string Value(string name, StringValues values) =>
            string.Equals(name, HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase) ? CookieNames(values)
            : IsScrubbed(name, _options) ? Filtered
            : Truncate(values.ToString());
    }

    /// <summary>
    /// True when a word of the name is sensitive. Words end at anything but a letter or digit, where lower case turns
    /// upper (<c>newPassword</c>), where an acronym meets the next word (<c>APIKey</c>, <c>XSRFToken</c>) and between
    /// letters and digits (<c>Password2</c>, <c>pin1</c>). Invisible format characters (zero-width space and joiners, the
    /// word joiner, a byte order mark, a soft hyphen) are left out first: <c>pass\u200Bword</c> is the word a browser shows.
    /// </summary>
    internal static bool IsSensitiveName(string name)
    {
        name = WithoutFormatCharacters(name);
        var start = 0;
        for (var i = 1; i <= name.Length; i++)
        {
            var boundary = i == name.Length || !char.IsLetterOrDigit(name[i])
                || (char.IsUpper(name[i]) && char.IsLower(name[i - 1]))
                || (char.IsUpper(name[i]) && char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]))
                || (char.IsDigit(name[i]) != char.IsDigit(name[i - 1]) && char.IsLetterOrDigit(name[i - 1]));
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

    /// <summary><paramref name="name"/> without its Unicode format characters (category Cf); the same string when it has none.</summary>
    private static string WithoutFormatCharacters(string name)
    {
        var first = 0;
        while (first < name.Length && !IsFormatCharacter(name[first]))
        {
            first++;
        }

        if (first == name.Length)
        {
            return name;
        }

        var kept = new System.Text.StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (!IsFormatCharacter(c))
            {
                kept.Append(c);
            }
        }

        return kept.ToString();
    }

    // None below U+00AD (the soft hyphen): ASCII names cost one comparison a character.
    private static bool IsFormatCharacter(char c) => c >= '\u00AD' && char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    private static string Truncate(string value) => value.Length <= MaxValueLength ? value : value[..MaxValueLength];

    /// <summary>
    /// The endpoint's handler as its frame names it (<c>Shop.Api.OrdersController.Get</c>): a minimal API's method group (ASP.NET Core keeps
    /// the method in the endpoint's metadata), an MVC action, or the Razor page handler the request ran (<c>Shop.Pages.CartModel.OnPostDelete</c>);
    /// null for a lambda or local function, whose compiler name (<c>Program.&lt;&gt;c.&lt;&lt;Main&gt;$&gt;b__0_3</c>) is the same for every
    /// handler of the app and is not sent. <paramref name="failedRouteValues"/> are the failed request's route values where an error page ran
    /// it again.
    /// </summary>
    internal static string? HandlerName(Endpoint endpoint, HttpContext context, RouteValueDictionary? failedRouteValues = null)
    {
        var method = endpoint.Metadata.GetMetadata<MethodInfo>()
            ?? endpoint.Metadata.GetMetadata<ControllerActionDescriptor>()?.MethodInfo
            ?? PageHandler(endpoint, context, failedRouteValues);
        if (method?.DeclaringType?.FullName is not { } typeName || method.Name.Contains('<') || typeName.Contains('<'))
        {
            return null;
        }

        var (type, function) = DotNetNames.Normalize(typeName, method.Name);
        return type is null ? null : Truncate($"{type}.{function}");
    }

    /// <summary>
    /// The handler method of a Razor page that this request selects (<c>OnGet</c>, <c>OnPostAsync</c>, a named <c>OnPostDelete</c>). A page's
    /// endpoint holds all of its handlers; which one ran depends on the request's method and its <c>handler</c> route value or query
    /// parameter, so the app's own <see cref="IPageHandlerMethodSelector"/> is asked again, with the same request: the same rules, a custom
    /// selector's included. Only when an event is made: nothing is kept per request.
    /// </summary>
    private static MethodInfo? PageHandler(Endpoint endpoint, HttpContext context, RouteValueDictionary? failedRouteValues)
    {
        if (endpoint.Metadata.GetMetadata<PageActionDescriptor>() is not { } descriptor)
        {
            return null;
        }

        try
        {
            if (context.RequestServices?.GetService(typeof(IPageHandlerMethodSelector)) is not IPageHandlerMethodSelector selector)
            {
                return null;
            }

            // The endpoint routing matched holds the page as discovered; Razor Pages loads its compiled form (with the handlers) at the
            // page's first request and keeps it: asked again, the loader answers from what it keeps, without waiting.
            var page = descriptor as CompiledPageActionDescriptor;
            if (page is null && context.RequestServices.GetService(typeof(PageLoader)) is PageLoader loader)
            {
                var loading = loader.LoadAsync(descriptor, endpoint.Metadata);
                page = loading.IsCompletedSuccessfully ? loading.Result : null;
            }

            if (page is not { HandlerMethods.Count: > 0 })
            {
                return null;
            }

            var routeData = new RouteData(failedRouteValues ?? context.Request.RouteValues);
            // PageContext keeps its own descriptor, apart from the one the ActionContext it copies holds: set it.
            return selector.Select(new PageContext(new ActionContext(context, routeData, page)) { ActionDescriptor = page })?.MethodInfo;
        }
        catch (Exception)
        {
            // An ambiguous match (two handlers for one name), a selector of the app's that fails, the request's services already
            // disposed: the event goes without the tag.
            return null;
        }
    }
}
