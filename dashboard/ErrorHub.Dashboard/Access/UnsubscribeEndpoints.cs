using System.Globalization;
using System.Text.Encodings.Web;
using ErrorHub.Notifications;
using ErrorHub.Server;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// The one-click unsubscribe of alert mails (RFC 8058), without signing in: the mail's <c>List-Unsubscribe</c> link
/// carries a signed token naming one member, one project and one trigger (<see cref="UnsubscribeLinks"/>). A POST to it
/// (what a mail client's "Unsubscribe" button sends) turns that switch off, as the member's own switch on the Alerts page
/// does; a GET (a person following the footer's link, or a mail scanner fetching every link) changes nothing and shows a
/// button that posts. A changed, made-up or expired token gets a page that says so, and changes nothing.
/// </summary>
internal static class UnsubscribeEndpoints
{
    public static void MapUnsubscribe(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/unsubscribe", async (HttpContext context, UnsubscribeLinks links, IProjectStore projects, ServerUrls urls) =>
        {
            var request = links.Read(context.Request.Query["token"]);
            if (await ProblemAsync(request, projects, urls, context.RequestAborted) is { } problem)
            {
                return problem;
            }

            var (project, label) = await DescribeAsync(request, projects, context.RequestAborted);
            return Page(
                StatusCodes.Status200OK,
                "Stop these mails?",
                $"You get \"{label}\" mails of {project} from ErrorHub. The button turns them off for you, for this project only; your other mails stay as they are.",
                """<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit" style="background:#0b5cad;color:#fff;border:none;border-radius:4px;padding:8px 14px;font-size:14px">Unsubscribe</button></form>""");
        }).AllowAnonymous();

        endpoints.MapPost("/unsubscribe", async (HttpContext context, UnsubscribeLinks links, IProjectStore projects, AlertSettingsStore settings, ServerUrls urls) =>
        {
            var request = links.Read(context.Request.Query["token"]);
            if (await ProblemAsync(request, projects, urls, context.RequestAborted) is { } problem)
            {
                return problem;
            }

            await settings.TurnOffAsync(request.ProjectId, request.UserId, request.Trigger, context.RequestAborted);
            var (project, label) = await DescribeAsync(request, projects, context.RequestAborted);
            var alerts = urls.Link(string.Create(CultureInfo.InvariantCulture, $"projects/{request.ProjectId}/alerts")).AbsoluteUri;
            return Page(
                StatusCodes.Status200OK,
                "Unsubscribed",
                $"You will get no more \"{label}\" mails of {project}. To have them again, turn the switch back on on the project's Alerts page.",
                $"""<p><a href="{HtmlEncoder.Default.Encode(alerts)}" style="color:#0b5cad">Alerts of {HtmlEncoder.Default.Encode(project)}</a></p>""");
        }).AllowAnonymous().DisableAntiforgery();

        // One issue's workflow mail (the footer of those mails): the same GET-shows, POST-acts rule.
        endpoints.MapGet("/unsubscribe/issue", async (HttpContext context, UnsubscribeLinks links, IProjectStore projects, IIssueReader issues, ServerUrls urls) =>
        {
            var request = links.ReadIssue(context.Request.Query["token"]);
            if (await IssueProblemAsync(request, projects, urls, context.RequestAborted) is { } problem)
            {
                return problem;
            }

            var title = await IssueTitleAsync(request, issues, context.RequestAborted);
            return Page(
                StatusCodes.Status200OK,
                "Unsubscribe from this issue?",
                $"You get ErrorHub's mails about the issue \"{title}\": comments, assignments, status changes and regressions. The button stops them for this issue only, even when you take part in it later; subscribe again on the issue's page.",
                """<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit" style="background:#0b5cad;color:#fff;border:none;border-radius:4px;padding:8px 14px;font-size:14px">Unsubscribe from this issue</button></form>""");
        }).AllowAnonymous();

        endpoints.MapPost("/unsubscribe/issue", async (HttpContext context, UnsubscribeLinks links, IProjectStore projects, IIssueReader issues, WorkflowMail workflow, ServerUrls urls) =>
        {
            var request = links.ReadIssue(context.Request.Query["token"]);
            if (await IssueProblemAsync(request, projects, urls, context.RequestAborted) is { } problem)
            {
                return problem;
            }

            await workflow.SetSubscribedAsync(request.ProjectId, request.Fingerprint, request.UserId, false, context.RequestAborted);
            var title = await IssueTitleAsync(request, issues, context.RequestAborted);
            var issue = urls.Link(string.Create(CultureInfo.InvariantCulture, $"projects/{request.ProjectId}/issues/{Uri.EscapeDataString(request.Fingerprint)}")).AbsoluteUri;
            return Page(
                StatusCodes.Status200OK,
                "Unsubscribed from the issue",
                $"You will get no more mails about \"{title}\". To have them again, use Subscribe on the issue's page.",
                $"""<p><a href="{HtmlEncoder.Default.Encode(issue)}" style="color:#0b5cad">Open the issue</a></p>""");
        }).AllowAnonymous().DisableAntiforgery();
    }

    private static Task<IResult?> IssueProblemAsync(IssueUnsubscribeRequest request, IProjectStore projects, ServerUrls urls, CancellationToken cancellationToken) =>
        ProblemAsync(new UnsubscribeRequest(request.Status, request.UserId, request.ProjectId), projects, urls, cancellationToken);

    private static async Task<string> IssueTitleAsync(IssueUnsubscribeRequest request, IIssueReader issues, CancellationToken cancellationToken) =>
        (await issues.GetIssueAsync(request.ProjectId, request.Fingerprint, cancellationToken))?.Title is { Length: > 0 } title
            ? title.Length > 120 ? title[..119] + "…" : title
            : "an issue";

    private static async Task<IResult?> ProblemAsync(UnsubscribeRequest request, IProjectStore projects, ServerUrls urls, CancellationToken cancellationToken)
    {
        var signIn = $"""<p><a href="{HtmlEncoder.Default.Encode(urls.Public.AbsoluteUri)}" style="color:#0b5cad">Sign in to ErrorHub</a> and use the project's Alerts page instead.</p>""";
        return request.Status switch
        {
            UnsubscribeStatus.Invalid => Page(StatusCodes.Status400BadRequest, "This unsubscribe link does not work", "It is not a link this ErrorHub made, or it was cut or changed on the way (copy the whole link). Nothing was changed.", signIn),
            UnsubscribeStatus.Expired => Page(StatusCodes.Status400BadRequest, "This unsubscribe link has expired", $"Unsubscribe links work for {UnsubscribeLinks.Lifetime.TotalDays:0} days after their mail; a newer mail has a fresh one. Nothing was changed.", signIn),
            _ when await projects.GetProjectAsync(request.ProjectId, cancellationToken) is null => Page(StatusCodes.Status404NotFound, "This project no longer exists", "It sends no more mail. Nothing was changed.", ""),
            _ => null,
        };
    }

    private static async Task<(string Project, string Label)> DescribeAsync(UnsubscribeRequest request, IProjectStore projects, CancellationToken cancellationToken) =>
        ((await projects.GetProjectAsync(request.ProjectId, cancellationToken))?.Name ?? "", AlertTriggerNames.Label(request.Trigger));

    // Light and dark like the dashboard, without its stylesheet: a reader in dark mode is not dazzled by this one page.
    private const string PageStyle = "body{font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;color:#1b1b1b;background:#fff;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}h1{font-size:22px}@media (prefers-color-scheme: dark){body{color:#e6e6e6;background:#161616}a{color:#8ab4f8 !important}}";

    /// <summary>A small page of its own, not a Blazor one: it needs no sign-in, no script and no circuit (also the expired form page).</summary>
    internal static IResult Page(int status, string title, string text, string extraHtml) =>
        Results.Content(
            $"""
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex"><meta name="color-scheme" content="light dark"><title>{HtmlEncoder.Default.Encode(title)} · ErrorHub</title>
            <style>{PageStyle}</style></head>
            <body>
            <h1>{HtmlEncoder.Default.Encode(title)}</h1><p>{HtmlEncoder.Default.Encode(text)}</p>{extraHtml}</body></html>
            """,
            "text/html; charset=utf-8",
            statusCode: status);
}
