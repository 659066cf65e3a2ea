using System.Security.Claims;
using System.Text.Json.Serialization;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Triage;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// The issue list's saved searches in the JSON API (docs/api.md, "Saved searches"): listed (recommended, shared, the
/// caller's own, which one is pinned), created, renamed or given a new query, deleted, and the caller's pinned default.
/// The rules are <see cref="SavedSearchCatalog"/>'s, the list page's too. A project the caller may not read answers 404.
/// </summary>
internal static class SavedSearchesApi
{
    /// <summary>A query of 16,384 characters, escaped in JSON, with its name: the most a body needs, and a flood refused unread.</summary>
    public const int MaxBodyBytes = 128 * 1024;

    private const string Form = "{\"name\": \"...\", \"query\": \"status=regressed&assigned=me\", \"visibility\": \"personal\" or \"shared\"}";

    public static void MapSavedSearchesApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/projects/{projectId:int}");

        api.MapGet("/saved-searches", async (int projectId, ClaimsPrincipal user, ProjectAccess access, SavedSearchCatalog catalog, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            var list = await catalog.ListAsync(projectId, user, cancellationToken);
            return Results.Json(new ApiSavedSearchList([.. list.Entries.Select(entry => ApiSavedSearch.From(entry, list.Pinned))], list.Pinned?.Id), SavedSearchesJsonContext.Default.ApiSavedSearchList);
        });

        api.MapPost("/saved-searches", async (int projectId, HttpContext context, ClaimsPrincipal user, ProjectAccess access, SavedSearchCatalog catalog, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            var (body, problem) = await ApiJsonBody.ReadAsync(context, SavedSearchesJsonContext.Default.ApiSavedSearchChange, MaxBodyBytes, Form, "name and query are required", cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            if (body!.Visibility is not (null or "personal" or "shared"))
            {
                return ApiJsonBody.Problem(StatusCodes.Status400BadRequest, "visibility is personal (only you; the default) or shared (everyone in the project; admins only)");
            }

            var result = await catalog.CreateAsync(projectId, user, body.Name, body.Query, body.Visibility == "shared", cancellationToken);
            return Answer(result, StatusCodes.Status201Created, null);
        });

        api.MapPut("/saved-searches/{id}", async (int projectId, string id, HttpContext context, ClaimsPrincipal user, ProjectAccess access, SavedSearchCatalog catalog, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            var (body, problem) = await ApiJsonBody.ReadAsync(context, SavedSearchesJsonContext.Default.ApiSavedSearchChange, MaxBodyBytes, Form, "name or query is required", cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            if (body!.Visibility is not null)
            {
                return ApiJsonBody.Problem(StatusCodes.Status400BadRequest, "visibility cannot change: save the search anew with the other visibility");
            }

            var pinned = (await catalog.ListAsync(projectId, user, cancellationToken)).Pinned;
            return Answer(await catalog.UpdateAsync(projectId, user, id, body.Name, body.Query, cancellationToken), StatusCodes.Status200OK, pinned);
        });

        api.MapDelete("/saved-searches/{id}", async (int projectId, string id, ClaimsPrincipal user, ProjectAccess access, SavedSearchCatalog catalog, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            var result = await catalog.DeleteAsync(projectId, user, id, cancellationToken);
            return result.Outcome == SavedSearchOutcome.Done ? Results.NoContent() : Answer(result, StatusCodes.Status204NoContent, null);
        });

        // The caller's default list of the project (Sentry's pinned search): PUT pins a search they see, DELETE unpins.
        api.MapPut("/pinned-search", async (int projectId, HttpContext context, ClaimsPrincipal user, ProjectAccess access, SavedSearchCatalog catalog, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            var (body, problem) = await ApiJsonBody.ReadAsync(context, SavedSearchesJsonContext.Default.ApiPin, MaxBodyBytes, "{\"id\": \"...\"}", "id is required", cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            if (string.IsNullOrEmpty(body!.Id))
            {
                return ApiJsonBody.Problem(StatusCodes.Status400BadRequest, "id is required: a saved or recommended search's id, from GET .../saved-searches");
            }

            var result = await catalog.PinAsync(projectId, user, body.Id, cancellationToken);
            return Answer(result, StatusCodes.Status200OK, result.Search);
        });

        api.MapDelete("/pinned-search", async (int projectId, ClaimsPrincipal user, ProjectAccess access, SavedSearchCatalog catalog, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null)
            {
                return NotFound(projectId);
            }

            var result = await catalog.PinAsync(projectId, user, null, cancellationToken);
            return result.Outcome == SavedSearchOutcome.Done ? Results.NoContent() : Answer(result, StatusCodes.Status204NoContent, null);
        });
    }

    private static IResult Answer(SavedSearchResult result, int status, SavedSearchEntry? pinned) => result.Outcome switch
    {
        SavedSearchOutcome.Done => Results.Json(ApiSavedSearch.From(result.Search!, pinned), SavedSearchesJsonContext.Default.ApiSavedSearch, statusCode: status),
        SavedSearchOutcome.NotFound => ApiJsonBody.Problem(StatusCodes.Status404NotFound, result.Problem!),
        SavedSearchOutcome.Forbidden => ApiJsonBody.Problem(StatusCodes.Status403Forbidden, result.Problem!),
        SavedSearchOutcome.Conflict => ApiJsonBody.Problem(StatusCodes.Status409Conflict, result.Problem!),
        _ => ApiJsonBody.Problem(StatusCodes.Status400BadRequest, result.Problem!),
    };

    private static IResult NotFound(int projectId) =>
        ApiJsonBody.Problem(StatusCodes.Status404NotFound, $"there is no project {projectId} that you may read");
}

/// <summary>
/// A saved search as listed: <c>visibility</c> is <c>recommended</c>, <c>shared</c> or <c>personal</c>; <c>query</c> the issue
/// list's address query (also the issues API's query parameters); <c>canEdit</c> whether the caller may change it.
/// </summary>
internal sealed record ApiSavedSearch(string Id, string Name, string Query, string Visibility, bool IsPinned, bool CanEdit, DateTimeOffset? CreatedAt)
{
    public static ApiSavedSearch From(SavedSearchEntry entry, SavedSearchEntry? pinned) =>
        new(entry.Id, entry.Name, entry.Query, entry.Visibility.ToString().ToLowerInvariant(), pinned?.Id == entry.Id, entry.CanManage, entry.CreatedAt);
}

internal sealed record ApiSavedSearchList(IReadOnlyList<ApiSavedSearch> Items, string? PinnedId);

/// <summary>A new search (name and query; visibility personal unless shared), or a change (name and/or query).</summary>
internal sealed record ApiSavedSearchChange(string? Name, string? Query, string? Visibility);

internal sealed record ApiPin(string? Id);

// A field given twice in a body is refused (ApiJsonBody), not taken as its last value.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ApiSavedSearchList))]
[JsonSerializable(typeof(ApiSavedSearch))]
[JsonSerializable(typeof(ApiSavedSearchChange))]
[JsonSerializable(typeof(ApiPin))]
internal sealed partial class SavedSearchesJsonContext : JsonSerializerContext;
