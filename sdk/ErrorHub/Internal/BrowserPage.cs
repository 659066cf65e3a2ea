using System.Runtime.InteropServices.JavaScript;

namespace ErrorHub.Internal;

/// <summary>
/// In a Blazor WebAssembly app, the page an event happened on takes the place of a server's request: its URL (query
/// scrubbed as a server's) and the browser's User-Agent go where ErrorHub.AspNetCore puts a request's, with the tags
/// <c>browser</c> and <c>client_os</c>, so the dashboard and the e-mails show them as for a server's events.
/// </summary>
/// <remarks>
/// The URL is read from the page's <c>location.href</c>, not from Blazor's <c>NavigationManager</c>: in WebAssembly that
/// one is kept from <c>location.href</c> itself, and this package must not depend on the components assembly (console
/// apps and workers use it). Reading a property through the runtime's JS interop is a synchronous call on the page's
/// thread, nothing waits on a promise.
/// </remarks>
internal sealed class BrowserPage : IRequestContext
{
    // The window's location object is the same for the page's life; reading the navigator's User-Agent once is enough.
    private JSObject? _location;
    private (string UserAgent, string? Browser, string? OperatingSystem)? _userAgent;

    public ErrorHubScope? CurrentRequestScope(ErrorHubClient client) => null;

    public RequestReport FindRequest(ErrorHubClient client, object? request) => new PageReport(client, this);

    public bool TryHoldRefused(ErrorHubClient client, ErrorHubHint hint, CaptureSource source, object? request) => false;

    private void AddTo(ErrorHubEvent errorEvent)
    {
        var navigator = _userAgent ??= ReadUserAgent();
        if (Describe(ReadHref(), navigator?.UserAgent) is { } page)
        {
            errorEvent.Request ??= page;
        }

        if (navigator?.Browser is { } browser)
        {
            errorEvent.Tags.TryAdd("browser", browser);
        }

        if (navigator?.OperatingSystem is { } operatingSystem)
        {
            errorEvent.Tags.TryAdd("client_os", operatingSystem);
        }
    }

    /// <summary>
    /// The page as the event's request: <paramref name="href"/> without user name, password and fragment (a sign-in's
    /// redirect may carry tokens there), its query scrubbed, and the User-Agent as the header a server would have seen.
    /// Null when there is neither.
    /// </summary>
    internal static RequestInfo? Describe(string? href, string? userAgent)
    {
        // What is not an absolute URL a page can have is not sent at all: it may hold anything.
        string? url = null, query = null;
        if (Uri.TryCreate(href, UriKind.Absolute, out var uri) && !uri.IsFile)
        {
            url = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
            query = uri.Query.Length > 1 ? QueryStrings.Scrub(uri.Query) : null;
        }

        if (url is null && string.IsNullOrEmpty(userAgent))
        {
            return null;
        }

        var request = new RequestInfo { Url = url is { Length: > QueryStrings.MaxLength } ? url[..QueryStrings.MaxLength] : url, QueryString = query };
        if (!string.IsNullOrEmpty(userAgent))
        {
            request.Headers["User-Agent"] = userAgent.Length <= QueryStrings.MaxLength ? userAgent : userAgent[..QueryStrings.MaxLength];
        }

        return request;
    }

    private string? ReadHref()
    {
        if (!OperatingSystem.IsBrowser())
        {
            return null;
        }

        try
        {
            _location ??= JSHost.GlobalThis.GetPropertyAsJSObject("location");
            return _location?.GetPropertyAsString("href");
        }
        catch (Exception)
        {
            // No window (a web worker's runtime), or a thread that may not touch JS objects (a multithreaded runtime): the
            // event goes without the page.
            return null;
        }
    }

    /// <summary>The navigator's User-Agent and what it names; null (and asked again next time) when it cannot be read.</summary>
    private static (string UserAgent, string? Browser, string? OperatingSystem)? ReadUserAgent()
    {
        if (!OperatingSystem.IsBrowser())
        {
            return null;
        }

        try
        {
            using var navigator = JSHost.GlobalThis.GetPropertyAsJSObject("navigator");
            if (navigator?.GetPropertyAsString("userAgent") is not { Length: > 0 } userAgent)
            {
                return null;
            }

            var (browser, operatingSystem) = UserAgentParser.Parse(userAgent);
            return (userAgent, browser, operatingSystem);
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>An event made on the page: it takes the page and is sent at once, as outside a server's request.</summary>
    private sealed class PageReport(ErrorHubClient client, BrowserPage page) : RequestReport
    {
        public override ErrorHubScope? MadeScope => null;

        public override void Take(ErrorHubEvent errorEvent, ErrorHubHint hint, CaptureSource source)
        {
            page.AddTo(errorEvent);
            client.SendOrHoldUnwinding(errorEvent, hint, source);
        }
    }
}
