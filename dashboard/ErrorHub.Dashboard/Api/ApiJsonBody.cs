using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ErrorHub.Dashboard.Access;
using Microsoft.AspNetCore.Http.Features;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// A JSON body read by the endpoint rather than bound, so that every refusal is a JSON answer that says what is wrong:
/// not JSON (415), larger than the endpoint takes (413, refused unread when announced), malformed (400).
/// </summary>
internal static class ApiJsonBody
{
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

    private static IResult TooLarge(int maxBytes) => Problem(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {maxBytes} bytes");
}
