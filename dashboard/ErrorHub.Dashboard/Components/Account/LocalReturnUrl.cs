namespace ErrorHub.Dashboard.Components.Account;

/// <summary>Where to go after signing in: only a path of this site, never another site (an open redirect).</summary>
internal static class LocalReturnUrl
{
    public static string Relative(string? returnUrl)
    {
        if (string.IsNullOrEmpty(returnUrl) || !returnUrl.StartsWith('/') || returnUrl.StartsWith("//", StringComparison.Ordinal)
            || returnUrl.StartsWith("/\\", StringComparison.Ordinal) || returnUrl.Any(char.IsControl))
        {
            return "";
        }

        // Relative to the document base, so a path base keeps working. A first segment with a colon would be read
        // as a scheme once the slash is gone ("/https:evil.example" becomes https://evil.example/).
        var relative = returnUrl.TrimStart('/');
        var firstSegmentEnd = relative.IndexOfAny(['/', '?', '#']);
        return relative.AsSpan(0, firstSegmentEnd < 0 ? relative.Length : firstSegmentEnd).Contains(':') ? "" : relative;
    }
}

/// <summary>A form page's own error status: its page explains it, so the "Not found" page must not replace it.</summary>
internal static class FormStatus
{
    public static void Set(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        if (context.Features.Get<Microsoft.AspNetCore.Diagnostics.IStatusCodePagesFeature>() is { } statusCodePages)
        {
            statusCodePages.Enabled = false;
        }
    }
}
