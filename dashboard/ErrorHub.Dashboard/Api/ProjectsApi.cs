using System.Security.Claims;
using System.Text.Json.Serialization;
using ErrorHub.Dashboard.Access;
using ErrorHub.Server;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// The JSON API's projects (docs/api.md): every endpoint under <c>/api/</c> needs a signed-in user or an API
/// token and sees what that user may see; a project someone may not read answers 404, like a missing one.
/// </summary>
internal static class ProjectsApi
{
    public static void MapProjectsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/projects");

        api.MapGet("", async (ClaimsPrincipal user, ProjectAccess access, ServerUrls urls, CancellationToken cancellationToken) =>
        {
            var projects = await access.VisibleProjectsAsync(user, cancellationToken);
            return Results.Json(new ApiProjectList([.. projects.Select(project => ApiProject.From(project, urls))]), ApiJsonContext.Default.ApiProjectList);
        });

        api.MapGet("/{projectId:int}", async (int projectId, ClaimsPrincipal user, ProjectAccess access, ServerUrls urls, CancellationToken cancellationToken) =>
            await access.VisibleProjectAsync(user, projectId, cancellationToken) is { } project
                ? Results.Json(ApiProject.From(project, urls), ApiJsonContext.Default.ApiProject)
                : Results.Json(new AccessProblem($"there is no project {projectId} that you may read"), ApiJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status404NotFound));
    }
}

internal sealed record ApiProject(int Id, string Name, string? Dsn, DateTimeOffset CreatedAt)
{
    public static ApiProject From(Project project, ServerUrls urls) =>
        new(project.Id, project.Name, project.PublicKey.Length == 0 ? null : urls.Dsn(project), project.CreatedAt);
}

internal sealed record ApiProjectList(IReadOnlyList<ApiProject> Items);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ApiProjectList))]
[JsonSerializable(typeof(ApiProject))]
[JsonSerializable(typeof(AccessProblem))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
