using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ErrorHub.Dashboard.Access;
using Microsoft.AspNetCore.Http.Features;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// A JSON body read by the endpoint rather than bound, so that every refusal is a JSON answer that says what is wrong:
/// not JSON (415), larger than the endpoint takes (413, refused unread when announced), malformed (400), a field given twice
/// (400: <c>{"status": "resolved", "status": "ignored"}</c> would otherwise be read as its last value, while a proxy, a log
/// or a client library in between may have read the first).
/// </summary>
internal static class ApiJsonBody
{
    /// <summary>
    /// The most a body of the issue endpoints takes (a state change, a comment, an assignment, a merge): a comment of 5,000
    /// characters each escaped as <c>\uXXXX</c> is about 30 KB; a flood is refused unread.
    /// </summary>
    public const int IssueBodyBytes = 64 * 1024;

    /// <param name="form">The body's form, for the messages: <c>{"name": "..."}</c>.</param>
    /// <param name="required">What a <c>null</c> body is told: <c>name is required</c>.</param>
    public static async Task<(T? Body, IResult? Problem)> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type, int maxBytes, string form, string required, CancellationToken cancellationToken)
        where T : class
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return (null, Problem(StatusCodes.Status415UnsupportedMediaType, $"send a JSON body (Content-Type: application/json): {form}"));
        }

        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync(request.Body, type, cancellationToken);
            return body is null ? (null, Problem(StatusCodes.Status400BadRequest, $"{required}: {form}")) : (body, null);
        }
        catch (JsonException duplicate) when (duplicate.Message.StartsWith("Duplicate property", StringComparison.Ordinal))
        {
            // The API's contexts refuse a known field given twice (System.Text.Json says so only in its message); its path
            // names the field.
            return (null, Problem(StatusCodes.Status400BadRequest, $"the body gives {FieldOf(duplicate.Path)} more than once; give each field once: {form}"));
        }
        catch (Exception malformed) when (malformed is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: text the reader cannot turn into a string, such as a lone UTF-16 surrogate.
            return (null, Problem(StatusCodes.Status400BadRequest, $"the body is not JSON of the form {form}"));
        }
        catch (BadHttpRequestException tooLarge) when (tooLarge.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes));
        }
    }

    public static IResult Problem(int status, string message) =>
        Results.Json(new AccessProblem(message), AccessJsonContext.Default.AccessProblem, statusCode: status);

    /// <summary>"status" for the path <c>$.status</c>, "a field" when there is none.</summary>
    private static string FieldOf(string? path) =>
        path is { Length: > 2 } && path.StartsWith("$.", StringComparison.Ordinal) ? $"\"{path[2..]}\"" : "a field";

    private static IResult TooLarge(int maxBytes) => Problem(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {maxBytes} bytes");
}

/// <summary>
/// The bodies of the issue endpoints (state, assignee, comments, merge), read as ASP.NET Core bound them before they were
/// read here (camelCase names matched in any case, numbers also as strings: clients rely on it, and a name in another
/// case unread would be a silent change, such as an assignment to nobody), except that a field given twice (<c>status</c>
/// and <c>Status</c> too) is refused instead of its last value taken. The token and saved-search bodies keep their own
/// contexts' exact names.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ApiStateChange))]
[JsonSerializable(typeof(ApiAssignment))]
[JsonSerializable(typeof(ApiComment))]
[JsonSerializable(typeof(ApiMerge))]
internal sealed partial class ApiBodiesJsonContext : JsonSerializerContext;
