using ErrorHub.Server.Events;
using ErrorHub.Server.Grouping;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Server.Ingestion;

/// <summary>
/// <c>POST /api/{projectId}/events</c>: key check → size limits → bounded decompression → decode with
/// limits → group → durable store → 202. Bad input gets a 4xx that says what is wrong; a store that
/// cannot keep up gets 503 with Retry-After; nothing here answers 500 for anything a client sent.
/// </summary>
internal sealed partial class IngestEndpoint(
    ProjectKeys projectKeys,
    StoreWriter writer,
    IOptions<IngestLimits> limitsOptions,
    TimeProvider timeProvider,
    ILogger<IngestEndpoint> logger)
{
    internal const string KeyHeader = "X-ErrorHub-Key";
    private static readonly string[] MessagePackMediaTypes = ["application/vnd.msgpack", "application/msgpack", "application/x-msgpack"];

    private readonly IngestLimits _limits = limitsOptions.Value;
    private readonly EventBatchDecoder _decoder = new(limitsOptions.Value);

    public async Task<IResult> HandleAsync(HttpContext context, string projectId)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;

        if (!int.TryParse(projectId, out var id) || id <= 0)
        {
            return Problem(StatusCodes.Status404NotFound, "the project id in the URL must be a positive integer");
        }

        if (!request.Headers.TryGetValue(KeyHeader, out var keyValues) || string.IsNullOrWhiteSpace(keyValues.ToString()))
        {
            return Problem(StatusCodes.Status401Unauthorized, $"missing the {KeyHeader} header (the public key from the project's DSN)");
        }

        if (!await projectKeys.IsValidAsync(id, keyValues.ToString().Trim(), cancellationToken))
        {
            return Problem(StatusCodes.Status401Unauthorized, $"unknown project {id} or wrong {KeyHeader}");
        }

        if (!IsMessagePack(request.ContentType))
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "the body must be MessagePack: Content-Type: application/vnd.msgpack");
        }

        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, $"Content-Encoding '{encoding}' is not supported; use gzip or none");
        }

        if (request.ContentLength > _limits.MaxBodyBytes)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, $"the body exceeds the limit of {_limits.MaxBodyBytes} bytes");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = _limits.MaxBodyBytes;
        }

        List<ErrorEvent> events;
        try
        {
            using var raw = await RequestBody.ReadAsync(request.Body, request.ContentLength, _limits.MaxBodyBytes, "the body", cancellationToken);
            using var body = gzip ? await raw.GunzipAsync(_limits.MaxDecompressedBytes, cancellationToken) : null;
            var receivedAt = timeProvider.GetUtcNow();
            var decoded = _decoder.Decode((body ?? raw).Span, id, receivedAt);
            events = decoded.Events.Select(e => Grouper.Group(e.Event, e.ClientFingerprint)).ToList();
        }
        catch (BodyTooLargeException tooLarge)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, tooLarge.Message);
        }
        catch (BadHttpRequestException badRequest) when (badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, $"the body exceeds the limit of {_limits.MaxBodyBytes} bytes");
        }
        catch (InvalidDataException)
        {
            return Problem(StatusCodes.Status400BadRequest, "the body is not valid gzip although Content-Encoding says gzip");
        }
        catch (BatchFormatException invalid)
        {
            LogRejected(logger, id, invalid.Message);
            return Problem(StatusCodes.Status400BadRequest, invalid.Problem, invalid.Field);
        }

        if (events.Count == 0)
        {
            return Results.Json(new IngestAccepted(0), IngestJsonContext.Default.IngestAccepted, statusCode: StatusCodes.Status202Accepted);
        }

        try
        {
            await writer.WriteAsync(events, cancellationToken);
        }
        catch (Exception exception) when (exception is StoreBusyException or StoreUnavailableException)
        {
            context.Response.Headers.RetryAfter = "5";
            return Problem(StatusCodes.Status503ServiceUnavailable, "events cannot be stored right now; retry later");
        }

        return Results.Json(new IngestAccepted(events.Count), IngestJsonContext.Default.IngestAccepted, statusCode: StatusCodes.Status202Accepted);
    }

    private static bool IsMessagePack(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        var mediaType = (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim();
        return MessagePackMediaTypes.Any(m => m.Equals(mediaType, StringComparison.OrdinalIgnoreCase));
    }

    private static IResult Problem(int status, string error, string? field = null) =>
        Results.Json(new IngestError(error, string.IsNullOrEmpty(field) ? null : field), IngestJsonContext.Default.IngestError, statusCode: status);

    [LoggerMessage(1, LogLevel.Information, "Rejected a batch for project {ProjectId}: {Reason}")]
    private static partial void LogRejected(ILogger logger, int projectId, string reason);
}
