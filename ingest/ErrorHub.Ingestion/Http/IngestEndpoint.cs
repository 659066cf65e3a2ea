using System.Globalization;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Journal;
using ErrorHub.Ingestion.Quotas;
using ErrorHub.Ingestion.Writing;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Ingestion.Http;

/// <summary>
/// <c>POST /api/{projectId}/events</c>, the HTTP face of the <see cref="IngestPipeline"/>: project id
/// and key check, media type, size limits, bounded decompression and admission, then the pipeline, whose
/// outcomes it maps to statuses: 202 once the store committed (or, with the journal on, once the batch is fsynced to it), 400 naming the field, 413, 415, 401, and
/// 503 with Retry-After when the store cannot keep up. Nothing a client sends gets a 500.
/// </summary>
internal sealed partial class IngestEndpoint(
    ProjectKeys projectKeys,
    StoreSchemaState schema,
    IngestPipeline pipeline,
    IngestAdmission admission,
    ProjectQuotas quotas,
    ProjectDropCounts dropCounts,
    IOptions<IngestLimits> limitsOptions,
    IngestMetrics metrics,
    TimeProvider timeProvider,
    ILogger<IngestEndpoint> logger)
{
    internal const string KeyHeader = "X-ErrorHub-Key";
    private const string RetryAfterSeconds = "5";

    /// <summary>A body up to this many times the limit is drained after its 413, so the client can read the answer.</summary>
    private const int DrainFactor = 4;
    private static readonly string[] MessagePackMediaTypes = ["application/vnd.msgpack", "application/msgpack", "application/x-msgpack"];

    private readonly IngestLimits _limits = limitsOptions.Value;

    public async Task<IResult> HandleAsync(HttpContext context, string projectId)
    {
        var started = timeProvider.GetTimestamp();
        var pausedBefore = GC.GetTotalPauseDuration();
        var answer = await AnswerAsync(context, projectId, started);
        metrics.Answered(answer.Outcome, answer.AcceptedEvents, timeProvider.GetElapsedTime(started), GC.GetTotalPauseDuration() - pausedBefore);
        return answer.Result;
    }

    private async Task<Answer> AnswerAsync(HttpContext context, string projectId, long started)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;

        // The whole request's bound: reading the body and each wait for the store get what is left of it, and a batch that
        // took it all to read and decode is not queued.
        TimeSpan Left() => _limits.MaxRequestTime - timeProvider.GetElapsedTime(started);
        TimeSpan StoreWait() => Left() < _limits.MaxStoreWait ? (Left() > TimeSpan.Zero ? Left() : TimeSpan.Zero) : _limits.MaxStoreWait;

        // Digits only: no sign, no spaces, no other culture's digits; "007" is project 7.
        if (projectId.Length is 0 or > 10 || !projectId.All(char.IsAsciiDigit)
            || !int.TryParse(projectId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
        {
            return new(Problem(StatusCodes.Status404NotFound, "the project id in the URL must be a positive integer"), IngestOutcome.InvalidProjectId);
        }

        if (!request.Headers.TryGetValue(KeyHeader, out var keyValues) || string.IsNullOrWhiteSpace(keyValues.ToString()))
        {
            return new(Problem(StatusCodes.Status401Unauthorized, $"missing the {KeyHeader} header (the public key from the project's DSN)"), IngestOutcome.Unauthorized);
        }

        if (!schema.IsReady)
        {
            // Started before the store could make its tables: no key can be checked, and a key looked up before the configured
            // project is saved would be cached as unknown and refused for a while after. The start-up log says why, once.
            return new(Unavailable(context, "the store is not ready yet; retry later"), IngestOutcome.StoreUnavailable);
        }

        ProjectSettings? settings;
        try
        {
            settings = await projectKeys.AuthenticateAsync(id, keyValues.ToString().Trim(), cancellationToken, staleWhileUnknown: pipeline.JournalsBatches)
                .AsTask().WaitAsync(StoreWait(), timeProvider, cancellationToken);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            return new(Results.Empty, IngestOutcome.ClientGone); // the client is gone
        }
        catch (Exception exception)
        {
            // The key cannot be checked while the store is down: that is the server's problem, and a retry can succeed.
            LogKeyCheckFailed(logger, id, exception);
            return new(Unavailable(context, "the project's key cannot be checked right now; retry later"), IngestOutcome.StoreUnavailable);
        }

        if (settings is null)
        {
            return new(Problem(StatusCodes.Status401Unauthorized, $"unknown project {id} or wrong {KeyHeader}"), IngestOutcome.Unauthorized);
        }

        // A project over its quota is refused before its body is read or decoded: a flood costs little.
        if (quotas.CheckRoom(id, settings) is { RefusedFor: { } full } noRoom)
        {
            return RateLimited(context, id, full, noRoom.RetryAfter, events: 0);
        }

        // With the journal past a bound, the batch would be refused after decoding: refuse it before (the flood costs nothing).
        if (!pipeline.HasRoom)
        {
            return new(Unavailable(context, "events cannot be stored right now; retry later"), IngestOutcome.Busy);
        }

        if (!IsMessagePack(request.ContentType))
        {
            return new(Problem(StatusCodes.Status415UnsupportedMediaType, "the body must be MessagePack: Content-Type: application/vnd.msgpack"), IngestOutcome.UnsupportedMedia);
        }

        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return new(Problem(StatusCodes.Status415UnsupportedMediaType, $"Content-Encoding '{encoding}' is not supported; use gzip or none"), IngestOutcome.UnsupportedMedia);
        }

        // Our own reader enforces the limit exactly. The server's limit is set higher so that, after a 413,
        // the server can read and drop what the client is still sending (Kestrel drains for up to a few
        // seconds) and the client gets to read the 413 instead of a reset connection. Far larger bodies
        // still get the connection closed.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = (long)_limits.MaxBodyBytes * DrainFactor;
        }

        if (request.ContentLength > _limits.MaxBodyBytes)
        {
            Dropped(id, DropReason.TooLarge, 0);
            return new(Problem(StatusCodes.Status413PayloadTooLarge, $"the body exceeds the limit of {_limits.MaxBodyBytes} bytes"), IngestOutcome.TooLarge);
        }

        // Kestrel's minimum data rate (240 bytes/s) ends a client that stops sending, not one that trickles just above it:
        // such a client would hold its connection and a buffer of up to the body limit for hours, for a batch refused anyway
        // once read (it is out of time). So reading stops when the request's time is up.
        var readingTimeUp = new ReadDeadline(timeProvider, started, _limits.MaxRequestTime);
        long admitted = 0;
        try
        {
            IReadOnlyList<ErrorEvent> events = [];
            int eventCount;
            IReadOnlyDictionary<string, long>? sdkDrops;
            JournalPayload? sent = null;
            try
            {
                using var raw = await RequestBody.ReadAsync(request.Body, request.ContentLength, _limits.MaxBodyBytes, "the body", cancellationToken, readingTimeUp);
                using var body = gzip ? await raw.GunzipAsync(_limits.MaxDecompressedBytes, cancellationToken) : null;
                if (body is not null && raw.Length > 0 && !raw.EndsWithGzipTrailerFor(body.Length))
                {
                    // Inflating stops quietly at a cut, and ignores what follows a whole stream: the trailer tells.
                    throw new BatchFormatException("", "the gzip body is cut short, corrupt, or followed by other data: send exactly one gzip stream");
                }

                // Decoded batches take several times their size in memory until they are stored: past a budget of
                // bytes in flight, new batches wait for their turn on the client's side (503, Retry-After).
                var weight = Math.Max(1, (body ?? raw).Length);
                if (!admission.TryEnter(weight))
                {
                    LogTooBusy(logger, id, weight, admission.InFlight);
                    return new(Unavailable(context, "the server is busy with other batches; retry later"), IngestOutcome.Busy);
                }

                admitted = weight;
                var receivedAt = timeProvider.GetUtcNow();
                if (pipeline.JournalsBatches)
                {
                    // Decoded to validate and count, not prepared: the journal's flusher prepares it once, from the batch as sent
                    // (still compressed), which is what the journal keeps.
                    eventCount = pipeline.Validate((body ?? raw).Memory, out sdkDrops);
                    if (eventCount > 0)
                    {
                        sent = JournalPayload.Create(id, receivedAt, gzip, raw.Memory.Span);
                    }
                }
                else
                {
                    events = pipeline.Prepare(id, (body ?? raw).Memory, receivedAt, out sdkDrops);
                    eventCount = events.Count;
                }

                if (Left() <= TimeSpan.Zero)
                {
                    // Nothing is queued yet: the client's retry is the only copy, and it will come when the server has room.
                    LogOutOfTime(logger, id, _limits.MaxRequestTime);
                    return new(Unavailable(context, "the server could not take the batch in time; retry later"), IngestOutcome.Busy);
                }
            }
            catch (BodyTooLargeException tooLarge)
            {
                Dropped(id, DropReason.TooLarge, 0);
                return new(Problem(StatusCodes.Status413PayloadTooLarge, tooLarge.Message), IngestOutcome.TooLarge);
            }
            catch (BadHttpRequestException badRequest) when (badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                Dropped(id, DropReason.TooLarge, 0);
                return new(Problem(StatusCodes.Status413PayloadTooLarge, $"the body exceeds the limit of {_limits.MaxBodyBytes} bytes"), IngestOutcome.TooLarge);
            }
            catch (BadHttpRequestException badRequest)
            {
                // Malformed chunked encoding, a body shorter than its Content-Length, a client sending too slowly.
                Dropped(id, DropReason.Invalid, 0);
                return new(Problem(badRequest.StatusCode, badRequest.Message), IngestOutcome.Invalid);
            }
            catch (InvalidDataException)
            {
                Dropped(id, DropReason.Invalid, 0);
                return new(Problem(StatusCodes.Status400BadRequest, "the body is not valid gzip although Content-Encoding says gzip", field: ""), IngestOutcome.Invalid);
            }
            catch (BatchFormatException invalid)
            {
                LogRejected(logger, id, invalid.Message);
                Dropped(id, DropReason.Invalid, 0);
                return new(Problem(StatusCodes.Status400BadRequest, invalid.Problem, invalid.Field), IngestOutcome.Invalid);
            }
            catch (Exception exception) when (exception is OperationCanceledException or IOException && cancellationToken.IsCancellationRequested)
            {
                return new(Results.Empty, IngestOutcome.ClientGone); // the client went away while sending: nobody is left to answer
            }
            catch (BodyTooSlowException)
            {
                LogReadOutOfTime(logger, id, _limits.MaxRequestTime);
                return new(Unavailable(context, $"the body did not arrive within {_limits.MaxRequestTime.TotalSeconds:0.#} s (MaxRequestTime); retry later"), IngestOutcome.Busy);
            }

            if (eventCount == 0)
            {
                CountSdkDrops(id, sdkDrops);
                return new(Results.Json(new IngestAccepted(0), IngestJsonContext.Default.IngestAccepted, statusCode: StatusCodes.Status202Accepted), IngestOutcome.Accepted);
            }

            if (quotas.TryTake(id, settings, eventCount) is { RefusedFor: { } reason } refused)
            {
                return RateLimited(context, id, reason, refused.RetryAfter, eventCount);
            }

            try
            {
                var waitStarted = timeProvider.GetTimestamp();
                var stored = sent is not null ? pipeline.JournalAsync(sent, eventCount, cancellationToken) : pipeline.StoreAsync(events, cancellationToken);
                await stored.WaitAsync(StoreWait(), timeProvider, cancellationToken);
                if (sent is not null)
                {
                    metrics.JournalWaited(timeProvider.GetElapsedTime(waitStarted));
                }
            }
            catch (Exception exception) when (exception is StoreBusyException or StoreUnavailableException)
            {
                return new(Unavailable(context, "events cannot be stored right now; retry later"), exception is StoreBusyException ? IngestOutcome.Busy : IngestOutcome.StoreUnavailable);
            }
            catch (TimeoutException)
            {
                // The store is stalled, not refusing: the batch stays queued and may still be stored; a retry is deduplicated by event id.
                LogStoreSlow(logger, id, _limits.MaxStoreWait);
                return new(Unavailable(context, "the store did not confirm the batch in time; retry later"), IngestOutcome.StoreTimeout);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return new(Results.Empty, IngestOutcome.ClientGone); // the events are still stored; the client that asked is gone
            }

            CountSdkDrops(id, sdkDrops);
            return new(Results.Json(new IngestAccepted(eventCount), IngestJsonContext.Default.IngestAccepted, statusCode: StatusCodes.Status202Accepted), IngestOutcome.Accepted, eventCount);
        }
        finally
        {
            if (admitted > 0)
            {
                admission.Exit(admitted);
            }
        }
    }

    /// <summary>429 with the whole seconds until the batch would fit its project's quota (at least 1), counted per project and reason.</summary>
    private Answer RateLimited(HttpContext context, int projectId, DropReason reason, TimeSpan retryAfter, int events)
    {
        Dropped(projectId, reason, events);
        var seconds = (long)Math.Clamp(Math.Ceiling(retryAfter.TotalSeconds), 1, 3600);
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var error = reason == DropReason.RateLimit
            ? $"project {projectId} is over its rate limit; retry after {seconds} s"
            : $"project {projectId} is sending more than spike protection lets through; retry after {seconds} s";
        return new(Problem(StatusCodes.Status429TooManyRequests, error), IngestOutcome.RateLimited);
    }

    private void Dropped(int projectId, DropReason reason, int events)
    {
        metrics.Dropped(projectId, reason, events);
        dropCounts.Add(projectId, reason, events);
    }

    /// <summary>
    /// The SDK's drop counts, taken only with an accepted batch: the SDK sends them again with a batch that was
    /// refused, so counting them then would count them twice.
    /// </summary>
    private void CountSdkDrops(int projectId, IReadOnlyDictionary<string, long>? sdkDrops)
    {
        if (sdkDrops is null)
        {
            return;
        }

        foreach (var (reason, events) in sdkDrops)
        {
            if (events > 0)
            {
                metrics.DroppedBySdk(projectId, reason, events);
                dropCounts.AddReportedBySdk(projectId, reason, events);
            }
        }
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

    /// <summary>An error answer; <paramref name="field"/> is set for 400s about the body ("" for the body as a whole).</summary>
    private static IResult Problem(int status, string error, string? field = null) =>
        Results.Json(new IngestError(error, field), IngestJsonContext.Default.IngestError, statusCode: status);

    private static IResult Unavailable(HttpContext context, string error)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds;
        return Problem(StatusCodes.Status503ServiceUnavailable, error);
    }

    [LoggerMessage(1, LogLevel.Information, "Rejected a batch for project {ProjectId}: {Reason}")]
    private static partial void LogRejected(ILogger logger, int projectId, string reason);

    [LoggerMessage(3, LogLevel.Warning, "Answered 503 to a batch of {Bytes} bytes for project {ProjectId}: {InFlight} bytes of other batches are in flight")]
    private static partial void LogTooBusy(ILogger logger, int projectId, long bytes, long inFlight);

    [LoggerMessage(4, LogLevel.Warning, "The store did not confirm a batch for project {ProjectId} within {Wait}; answered 503 so the client retries")]
    private static partial void LogStoreSlow(ILogger logger, int projectId, TimeSpan wait);

    [LoggerMessage(5, LogLevel.Warning, "A batch for project {ProjectId} was not ready for the store within {Limit} (MaxRequestTime); answered 503 so the client retries")]
    private static partial void LogOutOfTime(ILogger logger, int projectId, TimeSpan limit);

    [LoggerMessage(6, LogLevel.Warning, "The body of a batch for project {ProjectId} did not arrive within {Limit} (MaxRequestTime); answered 503")]
    private static partial void LogReadOutOfTime(ILogger logger, int projectId, TimeSpan limit);

    [LoggerMessage(2, LogLevel.Warning, "Could not check the key of project {ProjectId}; answering 503 so the client retries")]
    private static partial void LogKeyCheckFailed(ILogger logger, int projectId, Exception exception);

    /// <summary>The answer to a batch and what it counts as.</summary>
    private readonly record struct Answer(IResult Result, IngestOutcome Outcome, int AcceptedEvents = 0);
}
