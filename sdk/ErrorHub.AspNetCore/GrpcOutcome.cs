using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ErrorHub.AspNetCore;

/// <summary>
/// gRPC answers every call with HTTP 200 and puts the call's outcome in its <c>grpc-status</c> (in the headers of a
/// response without messages, else in the trailers). A gRPC service method that throws is logged by gRPC at Error and
/// answered UNKNOWN with HTTP 200, which ErrorHub took for "handled" and never reported. Here a gRPC response's outcome
/// is its grpc-status, mapped to the HTTP status the gRPC spec gives it, so the usual rule applies: UNKNOWN, INTERNAL,
/// DATA_LOSS, UNAVAILABLE, UNIMPLEMENTED and DEADLINE_EXCEEDED are failures; NOT_FOUND and the other statuses an app
/// raises with an <c>RpcException</c> are its answers.
/// </summary>
internal static class GrpcOutcome
{
    private static readonly string[] Names =
    [
        "OK", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
        "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable",
        "DataLoss", "Unauthenticated",
    ];

    private static readonly int[] HttpStatuses = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

    /// <summary>
    /// The response's status as a report decides on it: the HTTP status, or for a gRPC call its grpc-status's (with its
    /// name in <paramref name="grpcStatus"/>). A gRPC call that ended with no status at all failed: 500.
    /// </summary>
    public static int StatusOf(HttpContext context, out string? grpcStatus)
    {
        grpcStatus = null;
        var response = context.Response;
        if (response.StatusCode != StatusCodes.Status200OK
            || response.ContentType is not { } contentType
            || !contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            return response.StatusCode;
        }

        var value = response.Headers["grpc-status"].ToString();
        if (value.Length == 0)
        {
            value = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers["grpc-status"].ToString() ?? "";
        }

        if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code)
            || code >= Names.Length)
        {
            return StatusCodes.Status500InternalServerError;
        }

        grpcStatus = Names[code];
        return HttpStatuses[code];
    }
}
