using Microsoft.AspNetCore.Antiforgery;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// A page's form posted without a valid antiforgery token (a tab restored after the browser was closed, a form kept open
/// across a sign-out, a form of another site) is refused by the framework with an empty 400, and re-run as the "Not found"
/// page the post meets the same check and stays empty: a blank page. This answers it with a page that says what happened
/// and that nothing was changed. The JSON API answers its own refusals (<see cref="Api.SessionAntiforgery"/>).
/// </summary>
internal static class ExpiredFormPage
{
    /// <summary>Goes right after the status code pages, so it sees the refusal before they do.</summary>
    public static IApplicationBuilder UseExpiredFormPage(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        await next(context);

        var response = context.Response;
        if (response.StatusCode == StatusCodes.Status400BadRequest && !response.HasStarted
            && HttpMethods.IsPost(context.Request.Method) && !context.Request.Path.StartsWithSegments("/api")
            && context.Features.Get<IAntiforgeryValidationFeature>() is { IsValid: false })
        {
            // The page's endpoint names its content type before it checks the token, and then writes nothing.
            var page = (context.Request.PathBase + context.Request.Path).ToUriComponent();
            await UnsubscribeEndpoints.Page(
                StatusCodes.Status400BadRequest,
                "This form has expired",
                "It was sent from a page that was open too long (across a restart of the browser or a sign-out), or from another site. Nothing was changed: open the page again and send the form from there.",
                $"""<p><a href="{System.Text.Encodings.Web.HtmlEncoder.Default.Encode(page)}" style="color:#0b5cad">Open the page again</a></p>""").ExecuteAsync(context);
        }
    });
}
