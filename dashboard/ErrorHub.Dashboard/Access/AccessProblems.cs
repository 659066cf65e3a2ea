using System.Text.Json.Serialization;

namespace ErrorHub.Dashboard.Access;

/// <summary>401 and 403 answers of the JSON API and the hub: a JSON body (so the status code pages leave them alone) saying what to do.</summary>
internal static class AccessProblems
{
    public static bool IsApiOrHub(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments("/_blazor");

    public static Task WriteAsync(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new AccessProblem(error), AccessJsonContext.Default.AccessProblem);
    }
}

internal sealed record AccessProblem(string Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AccessProblem))]
internal sealed partial class AccessJsonContext : JsonSerializerContext;
