using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace ErrorHub.Ingestion.Http;

/// <summary>
/// Lets a page on any origin send events (a Blazor WebAssembly app, docs/protocol.md "Browsers"). The key travels in a header,
/// never in a cookie, and a browser app's key is public anyway: so every origin is allowed (<c>*</c>), no credentials are, and
/// nothing the client sends is echoed back: a huge or hostile Origin or list of requested headers changes nothing in the answer.
/// </summary>
internal static class BrowserCors
{
    /// <summary>The headers the SDK sends that a page may not send cross-origin without asking first.</summary>
    private static readonly string AllowedHeaders = string.Join(", ", HeaderNames.ContentType, HeaderNames.ContentEncoding, IngestEndpoint.KeyHeader);

    /// <summary>How long a browser may reuse a preflight's answer (browsers cap it: Chromium at 2 hours, Firefox at 24).</summary>
    private const string PreflightMaxAgeSeconds = "86400";

    /// <summary>Answers a preflight (<c>OPTIONS</c>): 204 allowing POST with the SDK's headers from any origin.</summary>
    public static IResult Preflight(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = "*";
        headers.AccessControlAllowMethods = HttpMethods.Post;
        headers.AccessControlAllowHeaders = AllowedHeaders;
        headers.AccessControlMaxAge = PreflightMaxAgeSeconds;
        headers.Allow = HttpMethods.Post + ", " + HttpMethods.Options;
        return Results.NoContent();
    }

    /// <summary>
    /// On every answer to a POST from a page: the page may read the status, the JSON body and Retry-After (a 429 or 503 the page
    /// cannot read would look like a network failure, and its Retry-After would be lost).
    /// </summary>
    public static void AllowReading(HttpContext context)
    {
        if (context.Request.Headers.Origin.Count > 0)
        {
            context.Response.Headers.AccessControlAllowOrigin = "*";
            context.Response.Headers.AccessControlExposeHeaders = HeaderNames.RetryAfter;
        }
    }
}
