using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Serialization;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Dashboard.Triage;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// The JSON API's issues (docs/api.md): lists with the dashboard's filters and tabs, one issue, its events and
/// affected users, and state changes. Pages continue with an opaque <c>cursor</c>. Like every endpoint under
/// <c>/api/</c> it needs a signed-in user or an API token; a project someone may not read answers 404.
/// </summary>
internal static class IssuesApi
{
    public const int DefaultLimit = 50;

    /// <summary>
    /// The longest release name a state change takes. Ingest cuts release names at 256 characters by default, so longer ones
    /// name no release; and the issue's timeline records the change in words that must hold the name.
    /// </summary>
    public const int MaxReleaseChars = 1000;

    public static void MapIssuesApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/projects/{projectId:int}/issues");

        api.MapGet("", async (int projectId, HttpRequest request, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IssueTriage triage, IAccessStore accounts, IIssueBookmarks bookmarks, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            var query = request.Query;
            if (!TryLimit(query["limit"], out var limit) || !TryOffset(query["cursor"], out var offset))
            {
                return BadRequest("limit is 1 to 1000 and cursor is a value a previous page returned");
            }

            var state = IssueListState.From(query["q"], query["environment"], query["release"], query["level"], query["range"], query["sort"], query["order"], null, query["status"], query["assigned"], query["bookmarked"]);
            var now = clock.GetUtcNow();
            var views = await triage.EvaluateForListAsync(projectId, cancellationToken);
            var listQuery = state.ToQuery(projectId, now) with { Offset = offset, Limit = limit };
            var filter = await triage.FilterForTabAsync(projectId, state.Status, listQuery.Filter, views, now, cancellationToken);
            filter = await IssueAssigneeFilter.ApplyAsync(filter, state.Assigned, user, accounts, views, cancellationToken);
            var mine = await IssueBookmarkFilter.MineAsync(bookmarks, projectId, user, cancellationToken);
            filter = IssueBookmarkFilter.Apply(filter, state.Bookmarked, mine);
            var page = await issues.GetIssuesAsync(listQuery with { Filter = filter }, cancellationToken);
            views = await triage.WithIssuesAsync(projectId, views, page.Items.Select(issue => issue.Fingerprint), cancellationToken);
            var next = offset + page.Items.Count < page.TotalCount && page.Items.Count > 0 ? OffsetCursor(offset + page.Items.Count) : null;
            return Results.Json(
                new ApiIssueList([.. page.Items.Select(issue => ApiIssue.From(issue, views.GetValueOrDefault(issue.Fingerprint) ?? IssueTriageView.Untriaged) with { IsBookmarked = mine.Contains(issue.Fingerprint) })], page.TotalCount, next),
                IssuesJsonContext.Default.ApiIssueList);
        });

        api.MapGet("/{fingerprint}", async (int projectId, string fingerprint, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IssueTriage triage, IIssueBookmarks bookmarks, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is not { } issue)
            {
                return NotFound(projectId);
            }

            var first = (await issues.GetEventPageAsync(new EventQuery(projectId, fingerprint) { OldestFirst = true, Limit = 1 }, cancellationToken)).Items is [var oldest, ..] ? oldest : null;
            var latest = (await issues.GetEventPageAsync(new EventQuery(projectId, fingerprint) { Limit = 1 }, cancellationToken)).Items is [var newest, ..] ? newest : null;
            var view = await triage.EvaluateAsync(projectId, fingerprint, cancellationToken);
            var bookmarked = (await IssueBookmarkFilter.MineAsync(bookmarks, projectId, user, cancellationToken)).Contains(fingerprint);
            return Results.Json(ApiIssue.From(issue, view) with { FirstRelease = first?.Release, LastRelease = latest?.Release, IsBookmarked = bookmarked }, IssuesJsonContext.Default.ApiIssue);
        });

        api.MapGet("/{fingerprint}/events", async (int projectId, string fingerprint, HttpRequest request, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            var query = request.Query;
            EventCursor? after = null;
            if (query["cursor"].ToString() is { Length: > 0 } text)
            {
                if (!EventCursor.TryParse(text, out var parsed))
                {
                    return BadRequest("limit is 1 to 1000 and cursor is a value a previous page returned");
                }

                after = parsed;
            }

            if (!TryLimit(query["limit"], out var limit))
            {
                return BadRequest("limit is 1 to 1000 and cursor is a value a previous page returned");
            }

            var page = await issues.GetEventPageAsync(
                new EventQuery(projectId, fingerprint) { After = after, Limit = limit, OldestFirst = query["order"] == "asc", Search = NullIfEmpty(query["q"]) },
                cancellationToken);
            return Results.Json(
                new ApiEventList([.. page.Items.Select(ApiEvent.From)], page.Next?.ToString()),
                IssuesJsonContext.Default.ApiEventList);
        });

        api.MapGet("/{fingerprint}/users", async (int projectId, string fingerprint, HttpRequest request, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            var query = request.Query;
            if (!TryLimit(query["limit"], out var limit) || !TryOffset(query["cursor"], out var offset))
            {
                return BadRequest("limit is 1 to 1000 and cursor is a value a previous page returned");
            }

            var page = await issues.GetAffectedUsersAsync(
                new AffectedUserQuery(projectId, fingerprint) { Offset = offset, Limit = limit, Search = NullIfEmpty(query["q"]) }, cancellationToken);
            var next = offset + page.Items.Count < page.TotalCount && page.Items.Count > 0 ? OffsetCursor(offset + page.Items.Count) : null;
            return Results.Json(new ApiUserList([.. page.Items], page.TotalCount, next), IssuesJsonContext.Default.ApiUserList);
        });

        api.MapPost("/{fingerprint}/state", async (int projectId, string fingerprint, HttpContext context, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IssueTriage triage, ApiIdempotency idempotency, CancellationToken cancellationToken) =>
        {
            var (key, keyProblem) = ApiIdempotency.Read(context);
            if (keyProblem is not null)
            {
                return keyProblem;
            }

            var (change, problem) = await ApiJsonBody.ReadAsync(context, ApiBodiesJsonContext.Default.ApiStateChange, ApiJsonBody.IssueBodyBytes, "{\"status\": \"resolved\" or \"ignored\" or \"unresolved\"}", "status is required", cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            if (change!.InRelease?.Length > MaxReleaseChars || change.AfterRelease?.Length > MaxReleaseChars)
            {
                return BadRequest($"inRelease and afterRelease are release names of at most {MaxReleaseChars} characters");
            }

            var valid = change.Status switch
            {
                "resolved" or "unresolved" => true,
                "ignored" => change.IgnoreMinutes is null or (> 0 and <= 5_256_000) && change.IgnoreEvents is null or > 0 && change.IgnoreUsers is null or > 0,
                _ => false,
            };
            if (!valid)
            {
                return BadRequest("status is resolved, ignored or unresolved; ignoreMinutes (up to ten years), ignoreEvents and ignoreUsers are positive");
            }

            // With a key: the same request again makes nothing twice; answered already, it is answered again as the issue stands.
            var use = key is null ? KeyUse.New : idempotency.Use(context, key, $"state\n{projectId}\n{fingerprint}\n{change}");
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
                var actionId = key is null ? (Guid?)null : ApiIdempotency.ActionId(user, "state", projectId, fingerprint, key);
                switch (change.Status)
                {
                    case "resolved":
                        await triage.ResolveAsync(projectId, fingerprint, NullIfEmpty(change.InRelease), NullIfEmpty(change.AfterRelease), IssueActor.Of(user), actionId, cancellationToken);
                        break;
                    case "ignored":
                        await triage.IgnoreAsync(
                            projectId, fingerprint, change.IgnoreMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : null, change.IgnoreEvents, change.IgnoreUsers, IssueActor.Of(user), actionId, cancellationToken);
                        break;
                    default:
                        await triage.ReopenAsync(projectId, fingerprint, IssueActor.Of(user), actionId, cancellationToken);
                        break;
                }

                if (key is not null)
                {
                    idempotency.Answered(user, key);
                }
            }

            var view = await triage.EvaluateAsync(projectId, fingerprint, cancellationToken);
            var issue = await issues.GetIssueAsync(projectId, fingerprint, cancellationToken);
            return Results.Json(ApiIssue.From(issue!, view), IssuesJsonContext.Default.ApiIssue);
        });
    }

    private static IResult NotFound(int projectId) =>
        Results.Json(new AccessProblem($"there is no such issue in a project {projectId} that you may read"), IssuesJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status404NotFound);

    private static IResult BadRequest(string message) =>
        Results.Json(new AccessProblem(message), IssuesJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status400BadRequest);

    private static bool TryLimit(string? text, out int limit)
    {
        limit = DefaultLimit;
        return string.IsNullOrEmpty(text)
            || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= 1000);
    }

    /// <summary>List cursors are opaque to clients ("o" and an offset); only values this API returned are accepted.</summary>
    private static bool TryOffset(string? text, out int offset)
    {
        offset = 0;
        return string.IsNullOrEmpty(text)
            || (text.Length <= 12 && text[0] == 'o' && int.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out offset));
    }

    private static string OffsetCursor(int offset) => "o" + offset.ToString(CultureInfo.InvariantCulture);

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

internal sealed record ApiIssue(
    string Fingerprint,
    string Title,
    string Culprit,
    string Level,
    string Status,
    long Events,
    long Users,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    string? RegressedInRelease,
    string? ResolvedInRelease,
    string? ResolvedAfterRelease,
    DateTimeOffset? IgnoredUntil,
    long? IgnoredUntilEvents,
    long? IgnoredUntilUsers,
    Guid? AssigneeId)
{
    public string? FirstRelease { get; init; }

    public string? LastRelease { get; init; }

    /// <summary>Whether the signed-in person (or the API token's account) bookmarked the issue.</summary>
    public bool IsBookmarked { get; init; }

    public static ApiIssue From(IssueSummary issue, IssueTriageView view) => new(
        issue.Fingerprint,
        issue.Title,
        issue.Culprit,
        issue.Level,
        view.Status.ToString().ToLowerInvariant(),
        issue.EventCount,
        issue.UserCount,
        issue.FirstSeen,
        issue.LastSeen,
        view.RegressedInRelease,
        view.State?.ResolvedInRelease,
        view.State?.ResolvedAfterRelease,
        view.State?.IgnoredUntil,
        view.State?.IgnoredUntilEvents,
        view.State?.IgnoredUntilUsers,
        view.State?.AssigneeId);
}

internal sealed record ApiIssueList(IReadOnlyList<ApiIssue> Items, long TotalCount, string? NextCursor);

internal sealed record ApiEvent(Guid EventId, DateTimeOffset Timestamp, string Level, string? UserId, string? UserEmail, string? UserName, string? Url, string? Release, string? Environment)
{
    public static ApiEvent From(EventRow row) => new(row.EventId, row.Timestamp, row.Level, row.UserId, row.UserEmail, row.UserName, row.Url, row.Release, row.Environment);
}

internal sealed record ApiEventList(IReadOnlyList<ApiEvent> Items, string? NextCursor);

internal sealed record ApiUserList(IReadOnlyList<AffectedUser> Items, long TotalCount, string? NextCursor);

/// <summary>A state change: <c>status</c> resolved (optionally <c>inRelease</c> or <c>afterRelease</c>), ignored (optionally until minutes, events or users pass) or unresolved.</summary>
internal sealed record ApiStateChange(string? Status, string? InRelease, string? AfterRelease, int? IgnoreMinutes, long? IgnoreEvents, long? IgnoreUsers);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ApiIssueList))]
[JsonSerializable(typeof(ApiIssue))]
[JsonSerializable(typeof(ApiEventList))]
[JsonSerializable(typeof(ApiUserList))]
[JsonSerializable(typeof(AccessProblem))]
internal sealed partial class IssuesJsonContext : JsonSerializerContext;
