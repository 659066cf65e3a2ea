using System.Buffers;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using ErrorHub.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Transport;

/// <summary>
/// Ships events to ingest from one background loop: a bounded queue (callers never wait; a full queue
/// drops and counts), batches of up to <see cref="ErrorHubOptions.MaxBatchSize"/> events as gzip'd
/// MessagePack, retries with exponential back-off that honours Retry-After, and a flush with a timeout.
/// </summary>
internal sealed partial class BackgroundSender : IAsyncDisposable, IDisposable
{
    private const int MaxAttempts = 6;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);
    private static readonly MediaTypeHeaderValue MessagePackMediaType = new("application/vnd.msgpack");

    private readonly Channel<ErrorHubEvent> _queue;
    private readonly HttpClient _http;
    private readonly ErrorHubOptions _options;
    private readonly Dsn _dsn;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _enqueued;
    private long _completed;
    private long _dropped;
    private long _givenUp;
    private long _shutdownDeadlineTicks;
    private int _disposed;

    public BackgroundSender(Dsn dsn, ErrorHubOptions options, HttpClient http, TimeProvider timeProvider, ILogger logger)
    {
        _dsn = dsn;
        _options = options;
        _http = http;
        _timeProvider = timeProvider;
        _logger = logger;
        _queue = Channel.CreateBounded<ErrorHubEvent>(new BoundedChannelOptions(Math.Max(1, options.MaxQueueSize))
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite this means: refuse, and we count the drop
        });

        // The loop must not inherit the ambient context of whichever request happened to create us.
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(RunAsync);
        }
    }

    /// <summary>Events refused because the queue was full or the SDK was shutting down.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Events still queued or in flight when shutdown ended them.</summary>
    public long GivenUpAtShutdownCount => Interlocked.Read(ref _givenUp);

    internal HttpClient Http => _http;

    /// <summary>
    /// The SDK's own client: app-wide <c>ConfigureHttpClientDefaults</c> (resilience handlers that would multiply our
    /// retries, logging handlers that would write lines per batch into the app's log) never reach it. Pooled
    /// connections are renewed so DNS changes are seen. HttpClient's own timeout (100 s on the real clock) is off:
    /// SendTimeout, on the injected TimeProvider, is the one limit.
    /// </summary>
    internal static HttpClient CreateHttpClient() =>
        new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) }, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    public bool TryEnqueue(ErrorHubEvent errorEvent)
    {
        if (_queue.Writer.TryWrite(errorEvent))
        {
            Interlocked.Increment(ref _enqueued);
            return true;
        }

        if (Interlocked.Increment(ref _dropped) == 1)
        {
            LogQueueFull(_logger, _options.MaxQueueSize);
        }

        return false;
    }

    public async Task<bool> FlushAsync(TimeSpan timeout)
    {
        var target = Interlocked.Read(ref _enqueued);
        using var timeoutSource = new CancellationTokenSource(timeout, _timeProvider);
        while (Interlocked.Read(ref _completed) < target)
        {
            var progress = Volatile.Read(ref _progress).Task;
            if (Interlocked.Read(ref _completed) >= target)
            {
                break;
            }

            try
            {
                await progress.WaitAsync(timeoutSource.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Waits for queued events until <see cref="ErrorHubOptions.ShutdownTimeout"/> after the first call: the host's
    /// stop, the container's disposal and the process exit share one deadline, so the app never waits twice.
    /// </summary>
    public Task<bool> ShutdownAsync()
    {
        var deadline = _timeProvider.GetUtcNow().UtcTicks + _options.ShutdownTimeout.Ticks;
        Interlocked.CompareExchange(ref _shutdownDeadlineTicks, deadline, 0);
        var remaining = RemainingShutdownTime();
        return remaining > TimeSpan.Zero ? FlushAsync(remaining) : Task.FromResult(IsDrained());
    }

    private TimeSpan RemainingShutdownTime()
    {
        var deadline = Interlocked.Read(ref _shutdownDeadlineTicks);
        return TimeSpan.FromTicks(Math.Max(0, deadline - _timeProvider.GetUtcNow().UtcTicks));
    }

    private bool IsDrained() => Interlocked.Read(ref _completed) >= Interlocked.Read(ref _enqueued);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await ShutdownAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        while (_queue.Reader.TryRead(out _))
        {
            Interlocked.Increment(ref _givenUp);
        }

        if (GivenUpAtShutdownCount > 0)
        {
            LogGaveUpAtShutdown(_logger, GivenUpAtShutdownCount, _options.ShutdownTimeout);
        }

        _stopping.Dispose();
        _http.Dispose();
    }

    /// <summary>
    /// Synchronous disposal (a container disposed with Dispose): the deliberate, time-limited wait at
    /// shutdown. The loop never needs the disposing thread, so waiting here cannot deadlock.
    /// </summary>
    public void Dispose()
    {
        var disposal = DisposeAsync().AsTask();

        // A second beyond the shutdown deadline, on the same clock, in case the loop does not stop when told.
        using var limit = new CancellationTokenSource(RemainingShutdownTime() + TimeSpan.FromSeconds(1), _timeProvider);
        try
        {
            disposal.Wait(limit.Token);
        }
        catch (OperationCanceledException)
        {
            try
            {
                _stopping.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // DisposeAsync finished in the meantime.
            }
        }
        catch (AggregateException)
        {
            // Disposal must not throw into the app's shutdown.
        }
    }

    private async Task RunAsync()
    {
        var batch = new List<ErrorHubEvent>(_options.MaxBatchSize);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                try
                {
                    await SendWithRetriesAsync(batch, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    Interlocked.Add(ref _givenUp, batch.Count);
                    throw;
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    LogSendFailed(_logger, batch.Count, exception.Message);
                }
                finally
                {
                    Interlocked.Add(ref _completed, batch.Count);
                    batch.Clear();
                    Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task SendWithRetriesAsync(List<ErrorHubEvent> batch, CancellationToken cancellationToken)
    {
        var body = Encode(batch);
        for (var attempt = 1; ; attempt++)
        {
            TimeSpan? retryAfter;
            try
            {
                // The send timeout runs on the injected clock; HttpClient's own timeout is switched off in AddErrorHub
                // because it only knows the real one.
                using var sendTimeout = new CancellationTokenSource(_options.SendTimeout, _timeProvider);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, sendTimeout.Token);
                using var request = new HttpRequestMessage(HttpMethod.Post, _dsn.EventsUri);
                request.Headers.Add("X-ErrorHub-Key", _dsn.PublicKey);
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = MessagePackMediaType;
                request.Content.Headers.ContentEncoding.Add("gzip");
                using var response = await _http
                    .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                if (!IsRetryable(response.StatusCode))
                {
                    // The server refused this batch for good (bad data, wrong key): retrying cannot help.
                    LogRejected(_logger, batch.Count, (int)response.StatusCode, await ReadReasonAsync(response, timeout.Token).ConfigureAwait(false));
                    return;
                }

                retryAfter = RetryAfter(response, _timeProvider.GetUtcNow());
                LogRetrying(_logger, (int)response.StatusCode, attempt);
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException
                || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                retryAfter = null;
                LogRetrying(_logger, 0, attempt);
            }

            if (attempt >= MaxAttempts)
            {
                LogGaveUp(_logger, batch.Count, attempt);
                return;
            }

            await Task.Delay(retryAfter ?? Backoff(attempt), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static byte[] Encode(IReadOnlyList<ErrorHubEvent> batch)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        EventWireWriter.WriteBatch(buffer, batch);
        using var compressed = new MemoryStream(buffer.WrittenCount / 3 + 64);
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(buffer.WrittenSpan);
        }

        return compressed.ToArray();
    }

    private static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)status >= 500;

    private static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - now : null);
        return delay is { } value ? TimeSpan.FromTicks(Math.Clamp(value.Ticks, 0, MaxBackoff.Ticks)) : null;
    }

    private static TimeSpan Backoff(int attempt)
    {
        var seconds = Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, attempt - 1));
        return TimeSpan.FromSeconds(seconds * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    private static async Task<string> ReadReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return text.Length > 500 ? text[..500] : text;
        }
        catch (Exception)
        {
            return "";
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "ErrorHub queue is full ({Capacity} events): new events are dropped until it drains")]
    private static partial void LogQueueFull(ILogger logger, int capacity);

    [LoggerMessage(2, LogLevel.Warning, "ErrorHub refused {Count} events with status {Status}: {Reason}")]
    private static partial void LogRejected(ILogger logger, int count, int status, string reason);

    [LoggerMessage(3, LogLevel.Debug, "ErrorHub send failed (status {Status}), attempt {Attempt}; retrying")]
    private static partial void LogRetrying(ILogger logger, int status, int attempt);

    [LoggerMessage(4, LogLevel.Warning, "ErrorHub gave up sending {Count} events after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, int count, int attempts);

    [LoggerMessage(6, LogLevel.Warning, "ErrorHub gave up {Count} events at shutdown: ingest did not take them within ShutdownTimeout ({ShutdownTimeout})")]
    private static partial void LogGaveUpAtShutdown(ILogger logger, long count, TimeSpan shutdownTimeout);

    [LoggerMessage(5, LogLevel.Warning, "ErrorHub could not send {Count} events: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, int count, string reason);
}
