using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Serialization;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Triage;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// An issue's activity in the JSON API (docs/api.md): its state changes, assignments, merges and comments, newest
/// first and paged by cursor; adding a comment, and deleting one's own (admins: any).
/// </summary>
internal static class IssueActivityApi
{
    public static void MapIssueActivityApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/projects/{projectId:int}/issues/{fingerprint}");

        api.MapGet("/activity", async (int projectId, string fingerprint, HttpRequest request, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IssueTimeline timeline, CancellationToken cancellationToken) =>
        {
            if (!await VisibleAsync(projectId, fingerprint, user, access, issues, cancellationToken))
            {
                return NotFound(projectId);
            }

            var limit = 50;
            if (request.Query["limit"].ToString() is { Length: > 0 } limitText
                && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > IssueChangeQuery.MaxLimit))
            {
                return BadRequest("limit is 1 to 1000");
            }

            IssueChangeCursor? after = null;
            if (request.Query["cursor"].ToString() is { Length: > 0 } cursorText)
            {
                if (!IssueChangeCursor.TryParse(cursorText, out var parsed))
                {
                    return BadRequest("cursor is a value a previous page returned");
                }

                after = parsed;
            }

            var page = await timeline.GetAsync(projectId, fingerprint, after, limit, cancellationToken);
            return Results.Json(new ApiActivityList([.. page.Items.Select(ApiActivity.From)], page.Next?.ToString()), IssueActivityJsonContext.Default.ApiActivityList);
        });

        api.MapPost("/comments", async (int projectId, string fingerprint, HttpContext context, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IIssueHistory history, IssueTimeline timeline, ApiIdempotency idempotency, CancellationToken cancellationToken) =>
        {
            var (key, keyProblem) = ApiIdempotency.Read(context);
            if (keyProblem is not null)
            {
                return keyProblem;
            }

            var (comment, problem) = await ApiJsonBody.ReadAsync(context, ApiBodiesJsonContext.Default.ApiComment, ApiJsonBody.IssueBodyBytes, "{\"text\": \"...\"}", "text is required", cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            if (!await VisibleAsync(projectId, fingerprint, user, access, issues, cancellationToken))
            {
                return NotFound(projectId);
            }

            if (key is null)
            {
                var result = await timeline.CommentAsync(projectId, fingerprint, IssueActor.Of(user), comment!.Text, cancellationToken);
                return result.Comment is { } added
                    ? Results.Json(ApiActivity.From(added), IssueActivityJsonContext.Default.ApiActivity, statusCode: StatusCodes.Status201Created)
                    : BadRequest($"text: {result.Problem}");
            }

            // The key names the comment: sent again, the same comment is stored once and answered as stored.
            var id = ApiIdempotency.ActionId(user, "comments", projectId, fingerprint, key);
            var use = idempotency.Use(context, key, $"comments\n{projectId}\n{fingerprint}\n{comment!.Text?.Trim()}");
            if (use == KeyUse.Reused)
            {
                return ApiIdempotency.Reused();
            }

            if (use == KeyUse.InFlight)
            {
                return ApiIdempotency.InFlight();
            }

            IssueChange? stored;
            if (use == KeyUse.New)
            {
                // Remembered no more (another server, a restart, a day later), the stored comment still tells another request.
                var made = await timeline.CommentAsync(projectId, fingerprint, IssueActor.Of(user), comment.Text, id, cancellationToken);
                if (made.IdTaken)
                {
                    return ApiIdempotency.Reused();
                }

                if (made.Comment is null)
                {
                    return BadRequest($"text: {made.Problem}");
                }

                idempotency.Answered(user, key);
                stored = made.Comment;
            }
            else
            {
                stored = await history.GetChangeAsync(projectId, id, cancellationToken);
            }

            return stored is null
                ? NotFound(projectId)
                : Results.Json(ApiActivity.From(stored), IssueActivityJsonContext.Default.ApiActivity, statusCode: StatusCodes.Status201Created);
        });

        api.MapDelete("/comments/{id}", async (int projectId, string fingerprint, string id, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IIssueHistory history, IssueTimeline timeline, CancellationToken cancellationToken) =>
        {
            if (!await VisibleAsync(projectId, fingerprint, user, access, issues, cancellationToken)
                || !Guid.TryParse(id, out var commentId)
                || await history.GetChangeAsync(projectId, commentId, cancellationToken) is not { Kind: IssueChangeKind.Comment } comment
                || comment.Fingerprint != fingerprint)
            {
                return NotFound(projectId);
            }

            return await timeline.DeleteCommentAsync(projectId, fingerprint, commentId, IssueActor.Of(user), AccessClaims.IsAdmin(user), cancellationToken)
                ? Results.NoContent()
                : Results.Json(new AccessProblem("only its author or an admin may delete a comment"), IssueActivityJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status403Forbidden);
        });
    }

    /// <summary>Merging (POST .../merge with the issues to merge into this one) and unmerging (POST .../unmerge on a merged issue).</summary>
    public static void MapIssueMergeApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/projects/{projectId:int}/issues/{fingerprint}");

        api.MapPost("/merge", async (int projectId, string fingerprint, HttpContext context, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, IssueMerging merging, ApiIdempotency idempotency, CancellationToken cancellationToken) =>
        {
            var (key, keyProblem) = ApiIdempotency.Read(context);
            if (keyProblem is not null)
            {
                return keyProblem;
            }

            var (merge, problem) = await ApiJsonBody.ReadAsync(context, ApiBodiesJsonContext.Default.ApiMerge, ApiJsonBody.IssueBodyBytes, "{\"sources\": [\"<fingerprint>\", ...]}", "sources is required", cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            if (!await VisibleAsync(projectId, fingerprint, user, access, issues, cancellationToken))
            {
                return NotFound(projectId);
            }

            if (merge!.Sources is not { Count: > 0 } sources || sources.Any(source => string.IsNullOrEmpty(source)))
            {
                return BadRequest("sources: the fingerprints of the issues to merge into this one (1 to 100)");
            }

            // With a key: sent again after a lost answer, the merge is made, entered and mailed once and answered as merged.
            var use = key is null ? KeyUse.New : idempotency.Use(context, key, $"merge\n{projectId}\n{fingerprint}\n{string.Join('\n', sources.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))}");
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
                var actionId = key is null ? (Guid?)null : ApiIdempotency.ActionId(user, "merge", projectId, fingerprint, key);
                if (await merging.MergeAsync(projectId, fingerprint, sources, IssueActor.Of(user), actionId, cancellationToken) is { } refused)
                {
                    return BadRequest(refused);
                }

                if (key is not null)
                {
                    idempotency.Answered(user, key);
                }
            }

            return Results.Json(new ApiMerged(fingerprint, [.. (await merging.GetMergedIntoAsync(projectId, fingerprint, cancellationToken)).Select(issue => issue.Fingerprint)]), IssueActivityJsonContext.Default.ApiMerged);
        });

        api.MapPost("/unmerge", async (int projectId, string fingerprint, HttpContext context, ClaimsPrincipal user, ProjectAccess access, IssueMerging merging, ApiIdempotency idempotency, CancellationToken cancellationToken) =>
        {
            var (key, keyProblem) = ApiIdempotency.Read(context);
            if (keyProblem is not null)
            {
                return keyProblem;
            }

            IResult NoMergedIssue() => Results.Json(new AccessProblem($"there is no merged issue {fingerprint} in a project {projectId} that you may read"), IssueActivityJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status404NotFound);
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null)
            {
                return NoMergedIssue();
            }

            var use = key is null ? KeyUse.New : idempotency.Use(context, key, $"unmerge\n{projectId}\n{fingerprint}");
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
                // With a key, an unmerge made again after a lost answer finds its own entries and answers 204, not 404.
                var actionId = key is null ? (Guid?)null : ApiIdempotency.ActionId(user, "unmerge", projectId, fingerprint, key);
                if (!await merging.UnmergeAsync(projectId, fingerprint, IssueActor.Of(user), actionId, cancellationToken))
                {
                    return NoMergedIssue();
                }

                if (key is not null)
                {
                    idempotency.Answered(user, key);
                }
            }

            return Results.NoContent();
        });
    }

    private static async Task<bool> VisibleAsync(int projectId, string fingerprint, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, CancellationToken cancellationToken) =>
        await access.VisibleProjectAsync(user, projectId, cancellationToken) is not null && await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is not null;

    private static IResult NotFound(int projectId) =>
        Results.Json(new AccessProblem($"there is no such issue or comment in a project {projectId} that you may read"), IssueActivityJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status404NotFound);

    private static IResult BadRequest(string message) =>
        Results.Json(new AccessProblem(message), IssueActivityJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status400BadRequest);
}

/// <summary>One timeline entry: <c>kind</c> is status, assignment, comment, merge or unmerge.</summary>
internal sealed record ApiActivity(Guid Id, string Kind, DateTimeOffset At, Guid? ActorId, string ActorName, string Text, string Value)
{
    public static ApiActivity From(IssueChange change) => new(
        change.Id, change.Kind.ToString().ToLowerInvariant(), change.At, change.ActorId, change.ActorName, change.Text, change.Value);
}

internal sealed record ApiActivityList(IReadOnlyList<ApiActivity> Items, string? NextCursor);

internal sealed record ApiComment(string? Text);

/// <summary>The issues to merge into the one in the path.</summary>
internal sealed record ApiMerge(IReadOnlyList<string>? Sources);

/// <summary>An issue and the issues now merged into it.</summary>
internal sealed record ApiMerged(string Fingerprint, IReadOnlyList<string> Merged);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ApiActivityList))]
[JsonSerializable(typeof(ApiActivity))]
[JsonSerializable(typeof(ApiMerged))]
[JsonSerializable(typeof(AccessProblem))]
internal sealed partial class IssueActivityJsonContext : JsonSerializerContext;
