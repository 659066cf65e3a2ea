using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Triage;
using ErrorHub.Notifications;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// What the issue page shows beyond the lists, in the JSON API (docs/api.md): one event whole (exceptions, frames,
/// breadcrumbs, request, user, tags), assigning the issue as the page's assignee choice does, its star (bookmark), and the caller's subscription to its workflow mail.
/// </summary>
internal static class IssueDetailApi
{
    public static void MapIssueDetailApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/projects/{projectId:int}/issues/{fingerprint}");

        api.MapGet("/events/{eventId}", async (int projectId, string fingerprint, string eventId, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is null)
            {
                return NotFound($"there is no such issue in a project {projectId} that you may read");
            }

            if (eventId.Length > 64 || !Guid.TryParse(eventId, out var id))
            {
                return Results.Json(new AccessProblem("eventId is the id of an event: 32 hexadecimal digits"), IssueDetailJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status400BadRequest);
            }

            // An event of an issue merged into this one is this issue's too, as on the page.
            return await issues.GetIssueEventAsync(projectId, fingerprint, id, cancellationToken) is { } found
                ? Results.Json(found, IssueDetailJsonContext.Default.ErrorEvent)
                : NotFound("this issue has no such event");
        });

        api.MapPost("/assignee", async (int projectId, string fingerprint, HttpContext context, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IAccessStore accounts, IssueTriage triage, ApiIdempotency idempotency, CancellationToken cancellationToken) =>
        {
            var (key, keyProblem) = ApiIdempotency.Read(context);
            if (keyProblem is not null)
            {
                return keyProblem;
            }

            var (assignment, problem) = await ApiJsonBody.ReadAsync(
                context, ApiBodiesJsonContext.Default.ApiAssignment, ApiJsonBody.IssueBodyBytes, "{\"assigneeId\": \"<user id>\" or null}", "assigneeId is required", cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is null)
            {
                return NotFound($"there is no such issue in a project {projectId} that you may read");
            }

            if (assignment!.AssigneeId is { } assigneeId && !await AssignableAsync(accounts, projectId, assigneeId, cancellationToken))
            {
                return Results.Json(
                    new AccessProblem("assigneeId is the id of an active admin or member of this project, or null for nobody"),
                    IssueDetailJsonContext.Default.AccessProblem,
                    statusCode: StatusCodes.Status400BadRequest);
            }

            var use = key is null ? KeyUse.New : idempotency.Use(context, key, $"assignee\n{projectId}\n{fingerprint}\n{assignment.AssigneeId:N}");
            if (use == KeyUse.Reused)
            {
                return ApiIdempotency.Reused();
            }

            if (use == KeyUse.InFlight)
            {
                return ApiIdempotency.InFlight();
            }

            if (use == KeyUse.New)
            {
                var actionId = key is null ? (Guid?)null : ApiIdempotency.ActionId(user, "assignee", projectId, fingerprint, key);
                await triage.AssignAsync(projectId, fingerprint, assignment.AssigneeId, IssueActor.Of(user), actionId, cancellationToken);
                if (key is not null)
                {
                    idempotency.Answered(user, key);
                }
            }

            var view = await triage.EvaluateAsync(projectId, fingerprint, cancellationToken);
            var issue = await issues.GetIssueAsync(projectId, fingerprint, cancellationToken);
            return Results.Json(ApiIssue.From(issue!, view), IssuesJsonContext.Default.ApiIssue);
        });

        // The issue page's star for the caller's account (Sentry's isBookmarked): PUT stars the issue, DELETE takes the star
        // off (and the caller's stars of issues merged into it). Both answer 204 whether or not it was starred before.
        api.MapPut("/bookmark", (int projectId, string fingerprint, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IIssueBookmarks bookmarks, TimeProvider clock, CancellationToken cancellationToken) =>
            SetBookmarkAsync(projectId, fingerprint, bookmarked: true, user, access, issues, bookmarks, clock, cancellationToken));
        api.MapDelete("/bookmark", (int projectId, string fingerprint, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IIssueBookmarks bookmarks, TimeProvider clock, CancellationToken cancellationToken) =>
            SetBookmarkAsync(projectId, fingerprint, bookmarked: false, user, access, issues, bookmarks, clock, cancellationToken));

        // Workflow mail about the issue for the caller's account, as the issue page's Subscribe/Unsubscribe line: GET says whether and why,
        // PUT subscribes and DELETE unsubscribes by hand (which wins over any participation, earlier or later).
        api.MapGet("/subscription", (int projectId, string fingerprint, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IServiceProvider services, CancellationToken cancellationToken) =>
            SubscriptionAsync(projectId, fingerprint, subscribe: null, user, access, issues, services, cancellationToken));
        api.MapPut("/subscription", (int projectId, string fingerprint, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IServiceProvider services, CancellationToken cancellationToken) =>
            SubscriptionAsync(projectId, fingerprint, subscribe: true, user, access, issues, services, cancellationToken));
        api.MapDelete("/subscription", (int projectId, string fingerprint, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IServiceProvider services, CancellationToken cancellationToken) =>
            SubscriptionAsync(projectId, fingerprint, subscribe: false, user, access, issues, services, cancellationToken));
    }

    private static async Task<IResult> SubscriptionAsync(int projectId, string fingerprint, bool? subscribe, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IServiceProvider services, CancellationToken cancellationToken)
    {
        if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is null)
        {
            return NotFound($"there is no such issue in a project {projectId} that you may read");
        }

        if (services.GetService<WorkflowMail>() is not { } workflow)
        {
            return NotFound("this server sends no workflow mail");
        }

        if (AccessClaims.UserId(user) is not { } me)
        {
            return Results.Json(new AccessProblem("a subscription is a person's: this caller has no account"), IssueDetailJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status400BadRequest);
        }

        if (subscribe is { } subscribed)
        {
            await workflow.SetSubscribedAsync(projectId, fingerprint, me, subscribed, cancellationToken);
        }

        var subscription = await workflow.GetSubscriptionAsync(projectId, fingerprint, me, cancellationToken);
        return Results.Json(
            new ApiSubscription(subscription?.IsSubscribed == true, subscription is { IsSubscribed: true } ? JsonNamingPolicy.CamelCase.ConvertName(subscription.Reason.ToString()) : null),
            IssueDetailJsonContext.Default.ApiSubscription);
    }

    private static async Task<IResult> SetBookmarkAsync(int projectId, string fingerprint, bool bookmarked, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IIssueBookmarks bookmarks, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is null)
        {
            return NotFound($"there is no such issue in a project {projectId} that you may read");
        }

        if (AccessClaims.UserId(user) is not { } me)
        {
            return Results.Json(new AccessProblem("a bookmark is a person's: this caller has no account"), IssueDetailJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status400BadRequest);
        }

        await bookmarks.SetBookmarksAsync(projectId, me, [fingerprint], bookmarked, clock.GetUtcNow(), cancellationToken);
        return Results.NoContent();
    }

    /// <summary>Who the page offers: admins (they see every project) and the project's members, not disabled.</summary>
    private static async Task<bool> AssignableAsync(IAccessStore accounts, int projectId, Guid userId, CancellationToken cancellationToken) =>
        await accounts.GetUserAsync(userId, cancellationToken) is { } account
        && IssueTriage.CanBeAssigned(account, (await accounts.GetMembersAsync(projectId, cancellationToken)).ToHashSet());

    private static IResult NotFound(string message) =>
        Results.Json(new AccessProblem(message), IssueDetailJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status404NotFound);
}

/// <summary>Whether the caller gets the issue's workflow mail, and why (<c>manual</c>, <c>commented</c>, <c>assigned</c>, <c>statusChanged</c>, <c>mentioned</c>).</summary>
internal sealed record ApiSubscription(bool IsSubscribed, string? Reason);

/// <summary>An assignment: the account to assign, or null for nobody.</summary>
/// <remarks>The key is required, null allowed: a misspelt key (<c>{"assignee": ...}</c>) would otherwise unassign the issue.</remarks>
internal sealed record ApiAssignment([property: JsonRequired] Guid? AssigneeId);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorEvent))]
[JsonSerializable(typeof(ApiSubscription))]
[JsonSerializable(typeof(AccessProblem))]
internal sealed partial class IssueDetailJsonContext : JsonSerializerContext;
