using System.Buffers;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using ErrorHub.Internal;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Transport;

/// <summary>
/// Ships events to ingest from one background loop. Callers encode an event (after BeforeSend) and only ever try to
/// write its bytes to a bounded queue (a full queue drops and counts). The loop forms batches bounded by <see cref="ErrorHubOptions.MaxBatchSize"/>,
/// <see cref="ErrorHubOptions.MaxBatchBytes"/> and <see cref="ErrorHubOptions.BatchDelay"/>, and sends them as gzip'd
/// MessagePack with the counts of dropped events. Answers: 2xx delivered; 413 splits the batch in halves; 401/403
/// stop the SDK; other 4xx drop the batch; network errors, timeouts, 408, 429 and 5xx are retried with back-off and
/// jitter, honouring Retry-After — in memory up to six attempts, or, with a <see cref="ErrorHubOptions.CacheDirectory"/>,
/// from disk for as long as it takes. All disk I/O happens on this loop, never on the caller's thread.
/// </summary>
internal sealed partial class BackgroundSender : IAsyncDisposable, IDisposable
{
    private const int MaxAttempts = 6;

    /// <summary>Redirects followed for one batch (307 or 308 within the DSN's scheme, host and port); HttpClient's own limit is 50.</summary>
    private const int MaxRedirects = 5;

    /// <summary>The header that carries the DSN's public key with every batch.</summary>
    internal const string KeyHeader = "X-ErrorHub-Key";

    /// <summary>Room left in a batch for its envelope (version, SDK name, drop counts, array header).</summary>
    private const int EnvelopeBytes = 512;

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MinSpoolRetry = TimeSpan.FromSeconds(1);

    private static readonly MediaTypeHeaderValue MessagePackMediaType = new("application/vnd.msgpack");

    /// <summary>How long a batch that follows the last one closely waits for more events (unless it is full or a flush asks).</summary>
    internal static readonly TimeSpan BurstLinger = TimeSpan.FromMilliseconds(100);

    private readonly Channel<EncodedEvent> _queue;

    /// <summary>
    /// The queued events' arrays: enough for a full queue of typical events, so a storm reuses them instead of making
    /// new ones (which the shared pool, sized for a few per core, did: +4.5 KB per event and more gen0 collections).
    /// Events larger than <see cref="MaxPooledEventBytes"/> get arrays of their own. The two batches (the one collected and
    /// the one in flight) hold the arrays of their larger events until they are done (see <see cref="BatchBuffer"/>), so
    /// the pool keeps room for those too: at most <c>MaxQueueSize</c> (up to 1,024) and the batches' share (up to 1,024)
    /// arrays of each size stay for the life of the SDK, and only as many as a storm had in use at once.
    /// </summary>
    private readonly ArrayPool<byte> _eventArrays;
    private const int MaxPooledEventBytes = 16 * 1024;
    private readonly int _capacity;

    /// <summary>The largest event a batch can carry (MaxBatchBytes less the envelope's room); larger ones are refused when queued.</summary>
    private readonly int _maxEventBytes;
    private readonly HttpClient _http;
    private readonly ErrorHubOptions _options;
    private readonly Dsn _dsn;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly DiskSpool? _spool;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _flushRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _enqueued;
    private long _completed;
    private long _shutdownDeadlineTicks;
    private int _disposed;
    private int _unauthorized;
    private int _queueFullLogged;
    private int _tooLargeLogged;
    private readonly ThrottledWarning _redirectWarnings;
    private readonly ThrottledWarning _rejectedWarnings;

    // Owned by the loop.
    private byte[]? _carried;

    // When the last batch went out: a batch that follows it closely is part of a burst, and waits a little to fill.
    private DateTimeOffset _lastSentAt = DateTimeOffset.MinValue;

    // The batch being collected: each event is taken into it as soon as it is taken from the queue, also while the
    // batch before it is being delivered (then in _sending), so a slow round trip does not leave the queue to fill.
    private BatchBuffer _batch;
    private BatchBuffer _sending;

    // Each batch is compressed here: owned by the loop, like the batch buffer.
    private MemoryStream _compressed = new();
    private const int MaxKeptCompressedBytes = 1024 * 1024;
    private const int MaxKeptOverflowBytes = 256 * 1024;

    /// <summary>
    /// While a batch lingers or one is in flight, the loop is woken by the capture that leaves enough events queued
    /// (<see cref="WakeWhenQueued"/>), not by a polling timer: each timer wakes the runtime's timer thread and then a
    /// thread-pool thread, and in an exception storm the 20 ms slices that polled the queue were nearly all of the
    /// timer thread's wake-ups, which an app without the SDK does not have (docs/benchmarks.md, sections "storm9" and
    /// "storm12"). Null while the loop waits for no count.
    /// </summary>
    private TaskCompletionSource? _queueWake;

    /// <summary>How many queued events complete <see cref="_queueWake"/>; <see cref="long.MaxValue"/> while none is armed.</summary>
    private long _wakeAtQueued = long.MaxValue;

    /// <summary>Events the loop took from the queue (into a batch, or dropped as too large): with <see cref="_enqueued"/>, what is queued.</summary>
    private long _taken;

    private List<byte[]>? _interrupted;

    // Owned by the loop: why the last attempt failed, for the line that says events were given up; and the events of
    // the batch being sent that ingest refused alone with 413, logged once when the batch is done (one line, not one
    // per event: a proxy in front of ingest that refuses every body would otherwise write a line per event).
    private string? _lastFailure;
    private int _refusedAlone;
    private int _largestRefusedAlone;
    private bool _spoolMayHoldBatches;
    private DateTimeOffset _spoolRetryAt;
    private int _spoolFailures;

    public BackgroundSender(Dsn dsn, ErrorHubOptions options, HttpClient http, TimeProvider timeProvider, ILogger logger)
    {
        _dsn = dsn;
        _options = options;
        _http = http;
        _timeProvider = timeProvider;
        _logger = logger;
        _redirectWarnings = new ThrottledWarning(timeProvider);
        _rejectedWarnings = new ThrottledWarning(timeProvider);
        if (!string.IsNullOrWhiteSpace(options.CacheDirectory))
        {
            _spool = DiskSpool.TryCreate(options.CacheDirectory, options.MaxCacheBytes, Drops, timeProvider, logger);
            _spoolMayHoldBatches = _spool is not null; // batches an earlier run left behind go first
        }

        // A full batch is MaxBatchBytes and the event that did not fit (carried to the next): kept from batch to batch.
        var keptBytes = Math.Max(64 * 1024, options.MaxBatchBytes) + MaxKeptOverflowBytes;
        _batch = new BatchBuffer(keptBytes);
        _sending = new BatchBuffer(keptBytes);
        _capacity = Math.Max(1, options.MaxQueueSize);
        _maxEventBytes = Math.Max(1, options.MaxBatchBytes - EnvelopeBytes);
        var adoptedPerBatch = Math.Min(Math.Max(1, options.MaxBatchSize), Math.Max(1, options.MaxBatchBytes) / BatchBuffer.AdoptedMinBytes + 1);
        _eventArrays = ArrayPool<byte>.Create(MaxPooledEventBytes, Math.Min(_capacity, 1024) + Math.Min(2 * adoptedPerBatch, 1024) + 16);
        _queue = Channel.CreateBounded<EncodedEvent>(new BoundedChannelOptions(_capacity)
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

    /// <summary>The encoding's warm-up (<see cref="StartWarmUp"/>): completes when it ended, never faults.</summary>
    internal Task WarmUp { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Encodes events made by <paramref name="makeEvent"/> on a background task of the SDK's own (see
    /// <see cref="EventPathWarmUp"/>), so the encoding's code is compiled before the app's first failure needs it, then
    /// compiles the report path's optimized methods of <paramref name="capturePathTypes"/> without running them.
    /// Nothing of it is queued or sent; a failure is logged at Debug and changes nothing else. Where nothing is compiled at
    /// run time (<paramref name="compilesCode"/>: <see cref="RuntimeFeature.IsDynamicCodeCompiled"/>, false under NativeAOT,
    /// where every method is compiled ahead), both parts are skipped: they would gain nothing and cost an event's encoding
    /// and a reflection walk over the report path's types at every start.
    /// </summary>
    internal void StartWarmUp(Func<ErrorHubEvent> makeEvent, IReadOnlyList<Type>? capturePathTypes = null, bool? compilesCode = null)
    {
        var compiles = compilesCode ?? RuntimeFeature.IsDynamicCodeCompiled;
        using (ExecutionContext.SuppressFlow())
        {
            var stopping = _stopping.Token; // read while the source is alive: disposal may come during the warm-up
            WarmUp = Task.Run(() => WarmUpOnce(makeEvent, capturePathTypes ?? [], compiles, stopping));
        }
    }

    private void WarmUpOnce(Func<ErrorHubEvent> makeEvent, IReadOnlyList<Type> capturePathTypes, bool compilesCode, CancellationToken stopping)
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        if (compilesCode)
        {
            // Each part on its own: one that fails leaves the other's gain.
            WarmUpPart(() => EventPathWarmUp.Run(makeEvent, _eventArrays));
            WarmUpPart(() => EventPathWarmUp.PrepareCapturePath(capturePathTypes, stopping));
        }

        // The app's deps file, read here once rather than by the first frame made on a thread of the app (a BeforeSend that reads the frames).
        WarmUpPart(() => _ = PackageAssemblies.Current);
    }

    private void WarmUpPart(Action warmUp)
    {
        try
        {
            warmUp();
        }
        catch (Exception exception)
        {
            try
            {
                LogWarmUpFailed(_logger, exception.Message);
            }
            catch (ObjectDisposedException)
            {
                // The app's logging was disposed with the SDK while the warm-up ran: nothing to tell.
            }
        }
    }

    /// <summary>Events dropped so far, by reason; the counts not yet reported travel with the next batch.</summary>
    public SdkDrops Drops { get; } = new();

    /// <summary>Events refused because the queue was full, the SDK was shutting down, or ingest refused the key.</summary>
    public long DroppedCount => Drops.Total(SdkDropReason.QueueFull) + Drops.Total(SdkDropReason.Unauthorized);

    /// <summary>Events still queued or in flight when shutdown ended them, with no CacheDirectory to keep them.</summary>
    public long GivenUpAtShutdownCount => Drops.Total(SdkDropReason.Shutdown);

    /// <summary>True once ingest refused the key (401/403): nothing more is sent until the app restarts.</summary>
    public bool StoppedByServer => Volatile.Read(ref _unauthorized) == 1;

    internal HttpClient Http => _http;

    /// <summary>
    /// The SDK's own client: app-wide <c>ConfigureHttpClientDefaults</c> (resilience handlers that would multiply our
    /// retries, logging handlers that would write lines per batch into the app's log) never reach it. Pooled
    /// connections are renewed so DNS changes are seen. HttpClient's own timeout (100 s on the real clock) is off:
    /// SendTimeout, on the injected TimeProvider, is the one limit. In a browser (Blazor WebAssembly) sockets are not the
    /// SDK's to own: the runtime's handler sends with the page's fetch, which pools connections itself (and sends no cookies
    /// to another origin). Redirects are the SDK's to follow (see <see cref="SendFollowingAsync"/>): HttpClient's own
    /// follow-up keeps every header but Authorization, so it sent the project key to whatever address a redirect named.
    /// </summary>
    internal static HttpClient CreateHttpClient() =>
        new(OperatingSystem.IsBrowser() ? new HttpClientHandler() : new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), AllowAutoRedirect = false }, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryEnqueue(ErrorHubEvent errorEvent)
    {
        if (Volatile.Read(ref _unauthorized) == 1)
        {
            Drops.Add(SdkDropReason.Unauthorized, 1);
            return false;
        }

        if (_queue.Reader.Count >= _capacity)
        {
            CountRefused(); // not encoded only to be refused
            return false;
        }

        // Encoded here, on the capturing thread, after BeforeSend: only the bytes wait in the queue (see EncodedEvent).
        EncodedEvent encoded;
        try
        {
            encoded = EncodedEvent.Encode(errorEvent, _eventArrays);
        }
        catch (Exception exception)
        {
            // An event the app made unwritable (in BeforeSend, or from another thread) is logged, never thrown.
            LogSendFailed(_logger, 1, exception.Message);
            return false;
        }

        if (encoded.Length > _maxEventBytes)
        {
            // No batch can carry it: refused here, so the queue's memory stays within MaxQueueSize events no larger
            // than a batch, whatever the app puts into one event (tags, extra, messages of any size).
            // Logged once, as a full queue is: on the app's thread, and the counts reach the server with the next batch.
            var length = encoded.Length;
            encoded.Return();
            Drops.Add(SdkDropReason.TooLarge, 1);
            if (Interlocked.Exchange(ref _tooLargeLogged, 1) == 0)
            {
                LogEventTooLargeToQueue(_logger, length, _options.MaxBatchBytes);
            }

            return false;
        }

        if (_queue.Writer.TryWrite(encoded))
        {
            // Counted after the write, so a count that reaches the loop's mark always has the events in the queue.
            var queued = Interlocked.Increment(ref _enqueued) - Volatile.Read(ref _taken);
            if (queued >= Volatile.Read(ref _wakeAtQueued))
            {
                Interlocked.Exchange(ref _queueWake, null)?.TrySetResult(); // the loop's continuation runs on the pool, not here
            }

            return true;
        }

        encoded.Return();
        CountRefused();
        return false;
    }

    /// <summary>
    /// True when an event offered now would be refused (the queue is full, or ingest refused the key): a capture asks
    /// first, so that an exception storm against a slow or dead ingest does not build events only to drop them.
    /// </summary>
    public bool WouldRefuse => Volatile.Read(ref _unauthorized) == 1 || _queue.Reader.Count >= _capacity;

    /// <summary>Events waiting in the queue, not yet taken into a batch.</summary>
    internal int QueuedCount => _queue.Reader.Count;

    /// <summary>Events taken into the queue since start (an event counts once it is encoded and written there).</summary>
    internal long EnqueuedCount => Interlocked.Read(ref _enqueued);

    /// <summary>Counts an event refused at the queue, by why the queue refused it.</summary>
    public void CountRefused()
    {
        if (Volatile.Read(ref _unauthorized) == 1)
        {
            Drops.Add(SdkDropReason.Unauthorized, 1);
            return;
        }

        if (Volatile.Read(ref _disposed) == 1)
        {
            Drops.Add(SdkDropReason.Shutdown, 1);
            return;
        }

        Drops.Add(SdkDropReason.QueueFull, 1);
        if (Interlocked.Exchange(ref _queueFullLogged, 1) == 0)
        {
            LogQueueFull(_logger, _options.MaxQueueSize);
        }
    }

    /// <summary>An event the app's BeforeSend (or another step before the queue) chose not to send.</summary>
    public void CountDropped(SdkDropReason reason) => Drops.Add(reason, 1);

    public async Task<bool> FlushAsync(TimeSpan timeout)
    {
        var target = Interlocked.Read(ref _enqueued);
        using var timeoutSource = new CancellationTokenSource(timeout, _timeProvider);
        while (Interlocked.Read(ref _completed) < target)
        {
            var progress = Volatile.Read(ref _progress).Task;
            Volatile.Read(ref _flushRequested).TrySetResult(); // a batch lingering for BatchDelay goes now
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

    /// <summary>
    /// At a crash, after <see cref="ShutdownAsync"/> gave up waiting: the process ends when the unhandled-exception handler
    /// returns, so nothing disposes this sender and the events still queued or in flight are lost. Their count is logged as
    /// at a stop, and also written as one line to standard error, because the app's console logger writes from a queue of
    /// its own that dies with the process before the line gets out. Standard error is where the runtime prints the
    /// unhandled exception itself, right after this, so the line lands beside the crash it belongs to; a write that blocks
    /// there (a full pipe nobody reads) would block the runtime's own message as well. Never throws.
    /// </summary>
    public void ReportGivenUpAtCrash(TextWriter standardError)
    {
        try
        {
            var left = Interlocked.Read(ref _enqueued) - Interlocked.Read(ref _completed);
            if (left <= 0)
            {
                return;
            }

            Drops.Add(SdkDropReason.Shutdown, left);
            var lastFailure = _lastFailure is null ? "" : "; the last attempt failed: " + _lastFailure;
            LogGaveUpAtShutdown(_logger, left, _options.ShutdownTimeout, lastFailure);
            standardError.WriteLine(
                $"ErrorHub gave up {left} events at the crash: ingest did not take them within ShutdownTimeout ({_options.ShutdownTimeout}){lastFailure}");
            standardError.Flush();
        }
        catch (Exception)
        {
            // A dying process: a logger or a stream that fails changes nothing about the crash, and must not add to it.
        }
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

        KeepOrGiveUpWhatIsLeft();
        _stopping.Dispose();
        _http.Dispose();
        _compressed.Dispose();
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

    /// <summary>After the loop stopped: what was in flight or queued goes to disk when it can, else it is given up and logged.</summary>
    private void KeepOrGiveUpWhatIsLeft()
    {
        // Interrupted while sending, or while collecting (the events already encoded into the batch).
        var left = _interrupted ?? _batch.ToArrays();
        if (_carried is not null)
        {
            left.Add(_carried);
        }

        while (_queue.Reader.TryRead(out var item))
        {
            left.Add(item.ToArrayAndReturn());
        }

        if (left.Count > 0)
        {
            if (_spool is not null && Volatile.Read(ref _unauthorized) == 0 && _spool.TryStore(left))
            {
                LogKeptAtShutdown(_logger, left.Count, _spool.Directory);
            }
            else
            {
                Drops.Add(SdkDropReason.Shutdown, left.Count);
                LogGaveUpAtShutdown(_logger, left.Count, _options.ShutdownTimeout, _lastFailure is null ? "" : "; the last attempt failed: " + _lastFailure);
            }
        }

        KeepUnreportedDrops();
    }

    /// <summary>
    /// Drop counts the server has not been told about (those of the last moments, those of batches that failed) would
    /// die with the process: with a CacheDirectory they are kept and reported after the next start.
    /// </summary>
    private void KeepUnreportedDrops()
    {
        var unreported = Drops.TakeReport();
        if (unreported.Count == 0 || Volatile.Read(ref _unauthorized) == 1)
        {
            return;
        }

        if (_spool is not null && _spool.TryStoreDrops(unreported))
        {
            Drops.Reported(unreported);
            LogKeptDropsAtShutdown(_logger, SdkDrops.Sum(unreported), _spool.Directory);
            return;
        }

        LogDropsUnreportedAtShutdown(_logger, SdkDrops.Sum(unreported), string.Join(", ", unreported.Select(d => $"{d.Key} {d.Value}")));
    }

    private async Task RunAsync()
    {
        var cancellationToken = _stopping.Token;
        try
        {
            _spool?.RemoveAbandonedTemporaryFiles();
            foreach (var (reason, count) in _spool?.TakeStoredDrops(SdkDrops.KnownNames) ?? [])
            {
                Drops.AddUnreportedFromEarlierRun(reason, count);
            }

            while (true)
            {
                if (_spoolMayHoldBatches && SpoolRetryIsDue())
                {
                    await SendSpooledAsync(cancellationToken).ConfigureAwait(false);
                }

                if (!await WaitForWorkAsync(cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                _spool?.DeleteSentFiles(); // sent batches whose files a read-only disk kept: tried again with any work, or on their own timer

                if ((_spoolMayHoldBatches && SpoolRetryIsDue()) || (_carried is null && _batch.Count == 0 && !_queue.Reader.TryPeek(out _)))
                {
                    continue; // the spool's turn: older batches go first
                }

                await CollectBatchAsync(cancellationToken).ConfigureAwait(false);
                (_sending, _batch) = (_batch, _sending);
                if (_carried is not null)
                {
                    _batch.Add(_carried); // the next batch starts with the event that did not fit, before any newer one
                    _carried = null;
                }

                var count = _sending.Count;
                try
                {
                    await DeliverWhileCollectingAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    _interrupted = _sending.ToArrays();
                    _interrupted.AddRange(_batch.ToArrays());
                    _batch.Clear();
                    throw;
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    Drops.Add(SdkDropReason.SendFailed, count);
                    LogSendFailed(_logger, count, exception.Message);
                }
                finally
                {
                    _sending.Clear();
                    if (_compressed.Capacity > MaxKeptCompressedBytes)
                    {
                        _compressed = new MemoryStream(); // one huge batch does not keep its memory for good
                    }

                    _lastSentAt = _timeProvider.GetUtcNow();
                    Completed(count);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Completed(int events)
    {
        if (events > 0)
        {
            Interlocked.Add(ref _completed, events);
        }

        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    private bool SpoolRetryIsDue() => Volatile.Read(ref _unauthorized) == 0 && _timeProvider.GetUtcNow() >= _spoolRetryAt;

    /// <summary>True when events are queued, the spool's next try is due or sent batches' files are to be deleted again; false when the queue is completed and empty.</summary>
    private async Task<bool> WaitForWorkAsync(CancellationToken cancellationToken)
    {
        if (_carried is not null || _batch.Count > 0)
        {
            return true;
        }

        if (NextTimedWork() is not { } dueAt)
        {
            return await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        }

        var due = dueAt - _timeProvider.GetUtcNow();
        if (due <= TimeSpan.Zero)
        {
            return true;
        }

        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var read = _queue.Reader.WaitToReadAsync(waiting.Token).AsTask();
        var retry = Task.Delay(due, _timeProvider, waiting.Token);
        var first = await Task.WhenAny(read, retry).ConfigureAwait(false);
        await waiting.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return first != read || await read.ConfigureAwait(false);
    }

    /// <summary>The earliest of the spool's next try and the next try at deleting sent batches' files; null when neither waits.</summary>
    private DateTimeOffset? NextTimedWork()
    {
        DateTimeOffset? due = _spoolMayHoldBatches && Volatile.Read(ref _unauthorized) == 0 ? _spoolRetryAt : null;
        if (_spool?.SentFilesDeleteDueAt is { } deleteAt && (due is null || deleteAt < due))
        {
            due = deleteAt;
        }

        return due;
    }

    /// <summary>
    /// Collects the next batch into <see cref="_batch"/> (which may hold events taken while the last one was delivered):
    /// up to MaxBatchSize events and MaxBatchBytes, lingering for BatchDelay (or <see cref="BurstLinger"/> in a burst)
    /// unless a flush asks or the batch is full.
    /// </summary>
    private async Task CollectBatchAsync(CancellationToken cancellationToken)
    {
        var linger = _options.BatchDelay;
        if (linger == TimeSpan.Zero && _carried is null && _batch.Count + _queue.Reader.Count < _options.MaxBatchSize
            && _timeProvider.GetUtcNow() - _lastSentAt < BurstLinger)
        {
            // A storm: without this, each send takes the one or two events that came during the last one, and the
            // cost of a request (gzip set-up, HTTP, the server's work) is paid for every few events (docs/benchmarks.md,
            // section 10). A single failure after a quiet spell still goes at once.
            linger = BurstLinger;
        }

        var limit = Math.Max(1, _options.MaxBatchBytes - EnvelopeBytes);
        if (_carried is not null)
        {
            if (_batch.Count > 0 && _batch.Bytes + _carried.Length > limit)
            {
                return; // taken while the last batch was out, this batch is full: the carried event starts the one after
            }

            _batch.Add(_carried);
            _carried = null;
        }

        if (!TakeQueued(limit) || linger <= TimeSpan.Zero)
        {
            return;
        }

        var flush = Volatile.Read(ref _flushRequested);
        if (!flush.Task.IsCompleted)
        {
            // While the batch lingers, the queue is taken into it whenever enough has come to fill it (or half the
            // queue), rather than once at the end, so that a burst longer than the queue is taken into the batch
            // instead of being refused at the queue. One timer for the whole linger, none per take.
            using var lingering = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var lingered = Task.Delay(linger, _timeProvider, lingering.Token);
            try
            {
                while (true)
                {
                    var queued = WakeWhenQueued(EventsToWakeFor(limit));
                    var woke = await Task.WhenAny(lingered, flush.Task, queued).ConfigureAwait(false);
                    if (!TakeQueued(limit) || woke != queued)
                    {
                        break;
                    }
                }
            }
            finally
            {
                StopWaking();
            }

            await lingering.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        Interlocked.CompareExchange(ref _flushRequested, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), flush);
    }

    /// <summary>Takes queued events into the batch until the queue is empty (true) or the batch is full (false).</summary>
    /// <remarks>Every event of a storm passes here: compiled optimized at start (see EventPathWarmUp.PrepareCapturePath).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TakeQueued(int limit)
    {
        while (_batch.Count < _options.MaxBatchSize)
        {
            if (!_queue.Reader.TryRead(out var item))
            {
                return true;
            }

            _taken++;

            var length = item.Length;
            if (length > limit)
            {
                item.Return();
                Drops.Add(SdkDropReason.TooLarge, 1);
                LogEventTooLarge(_logger, length, _options.MaxBatchBytes);
                Completed(1);
                continue;
            }

            if (_batch.Count > 0 && _batch.Bytes + length > limit)
            {
                _carried = item.ToArrayAndReturn(); // starts the next batch
                return false;
            }

            _batch.Add(item); // the batch takes the event's array over: no copy on its way into gzip
        }

        return false;
    }

    /// <summary>
    /// Delivers <see cref="_sending"/> and meanwhile keeps taking queued events into the next batch until it is full,
    /// whenever enough has come to fill it (or half the queue): in a storm against a live ingest the queue is emptied
    /// during the round trip instead of filling up behind it (docs/benchmarks.md, section "sdk7"). No timer: a
    /// capture wakes the loop (<see cref="WakeWhenQueued"/>). One batch is sent at a time.
    /// </summary>
    private async Task DeliverWhileCollectingAsync(CancellationToken cancellationToken)
    {
        var delivery = DeliverAsync(_sending, cancellationToken);
        var limit = Math.Max(1, _options.MaxBatchBytes - EnvelopeBytes);
        try
        {
            while (!delivery.IsCompleted && _carried is null && TakeQueued(limit))
            {
                var queued = WakeWhenQueued(EventsToWakeFor(limit));
                if (!queued.IsCompleted)
                {
                    await Task.WhenAny(delivery, queued).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            StopWaking();
        }

        await delivery.ConfigureAwait(false);
    }

    /// <summary>
    /// A task that completes once at least <paramref name="events"/> are queued: at once if they are, else when the
    /// capture that queues the last of them completes it (see <see cref="TryEnqueue"/>). The loop arms it, then looks
    /// at the queue; a capture writes, then looks at the mark: one of the two always sees the other.
    /// </summary>
    private Task WakeWhenQueued(int events)
    {
        var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _queueWake, wake);
        Interlocked.Exchange(ref _wakeAtQueued, events);
        if (_queue.Reader.Count >= events)
        {
            StopWaking();
            return Task.CompletedTask;
        }

        return wake.Task;
    }

    private void StopWaking()
    {
        Interlocked.Exchange(ref _wakeAtQueued, long.MaxValue);
        Interlocked.Exchange(ref _queueWake, null);
    }

    /// <summary>
    /// How many queued events wake the loop: what fills the batch being collected (by count, and by bytes at its events'
    /// average size so far), and never more than half the queue, so that the queue keeps room for what comes while
    /// the loop wakes and takes it.
    /// </summary>
    private int EventsToWakeFor(int limit)
    {
        long room = _options.MaxBatchSize - _batch.Count;
        if (_batch.Count > 0)
        {
            var averageBytes = Math.Max(1, _batch.Bytes / _batch.Count);
            room = Math.Min(room, ((limit - (long)_batch.Bytes) / averageBytes) + 1);
        }

        return (int)Math.Clamp(room, 1, Math.Max(1, _capacity / 2));
    }

    /// <summary>Sends a collected batch: its events go out as views of its arrays, copied only to be spooled.</summary>
    private async Task DeliverAsync(BatchBuffer collected, CancellationToken cancellationToken)
    {
        if (collected.Count == 0)
        {
            return;
        }

        if (Volatile.Read(ref _unauthorized) == 1)
        {
            Drops.Add(SdkDropReason.Unauthorized, collected.Count);
            return;
        }

        var batch = collected.Events();
        if (_spool is not null)
        {
            // While spooled batches wait for ingest, new ones queue up behind them on disk: order is kept and a
            // failing ingest is not hammered.
            if (_spoolMayHoldBatches && TrySpool(batch))
            {
                return;
            }

            var (outcome, retry, retryAfter) = await SendSplittingAsync(batch, cancellationToken).ConfigureAwait(false);
            if (outcome != SendOutcome.Retry)
            {
                return;
            }

            if (TrySpool(retry!))
            {
                ScheduleSpoolRetry(retryAfter);
                return;
            }

            // The disk refused it (a directory that cannot be made or written, a full disk): the batch is retried in
            // memory as without a CacheDirectory, rather than given up after one attempt.
            await Task.Delay(retryAfter ?? Backoff(1), _timeProvider, cancellationToken).ConfigureAwait(false);
            await RetryInMemoryAsync(retry!, firstAttempt: 2, cancellationToken).ConfigureAwait(false);
            return;
        }

        await RetryInMemoryAsync(batch, firstAttempt: 1, cancellationToken).ConfigureAwait(false);
    }

    private async Task RetryInMemoryAsync(List<ReadOnlyMemory<byte>> batch, int firstAttempt, CancellationToken cancellationToken)
    {
        for (var attempt = firstAttempt; ; attempt++)
        {
            var (outcome, retry, retryAfter) = await SendSplittingAsync(batch, cancellationToken).ConfigureAwait(false);
            if (outcome != SendOutcome.Retry)
            {
                return;
            }

            batch = retry!;
            if (attempt >= MaxAttempts)
            {
                Drops.Add(SdkDropReason.SendFailed, batch.Count);
                LogGaveUp(_logger, batch.Count, attempt, _lastFailure ?? "");
                return;
            }

            await Task.Delay(retryAfter ?? Backoff(attempt), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes a batch to the spool; false (logged by the spool) when the disk refused it.</summary>
    private bool TrySpool(List<ReadOnlyMemory<byte>> batch)
    {
        if (!_spool!.TryStore(batch.ConvertAll(static e => e.ToArray())))
        {
            return false;
        }

        _spoolMayHoldBatches = true;
        return true;
    }

    private void ScheduleSpoolRetry(TimeSpan? retryAfter)
    {
        // Retries from disk have no attempt budget, so a server answering "Retry-After: 0" must not make them a busy loop.
        _spoolFailures++;
        var wait = retryAfter ?? Backoff(Math.Min(_spoolFailures, 7));
        _spoolRetryAt = _timeProvider.GetUtcNow() + (wait < MinSpoolRetry ? MinSpoolRetry : wait);
    }

    /// <summary>Sends spooled batches, oldest first, until none is left or ingest fails again.</summary>
    private async Task SendSpooledAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            using var spooled = _spool!.TryTakeOldest();
            if (spooled is null)
            {
                _spoolMayHoldBatches = false;
                _spoolFailures = 0;
                return;
            }

            // Cancelled at shutdown: the file is let go and stays for the next start.
            var (outcome, _, retryAfter) = await SendSplittingAsync(spooled.Events.ConvertAll(static e => (ReadOnlyMemory<byte>)e), cancellationToken).ConfigureAwait(false);
            if (outcome == SendOutcome.Retry)
            {
                // The whole file is tried again later; halves that got through are deduplicated by event id at ingest.
                ScheduleSpoolRetry(retryAfter);
                return;
            }

            spooled.Complete();
            _spoolFailures = 0;
        }
    }

    /// <summary>
    /// One attempt at a batch; a 413 splits it in halves, each tried in turn. Returns what is left to retry, if any.
    /// Drops are counted here.
    /// </summary>
    private async Task<(SendOutcome Outcome, List<ReadOnlyMemory<byte>>? Retry, TimeSpan? RetryAfter)> SendSplittingAsync(List<ReadOnlyMemory<byte>> batch, CancellationToken cancellationToken)
    {
        try
        {
            return await SplitAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (_refusedAlone > 0)
            {
                LogRefusedAlone(_logger, _refusedAlone, _largestRefusedAlone, _options.MaxBatchBytes);
                _refusedAlone = 0;
                _largestRefusedAlone = 0;
            }
        }
    }

    private async Task<(SendOutcome Outcome, List<ReadOnlyMemory<byte>>? Retry, TimeSpan? RetryAfter)> SplitAsync(List<ReadOnlyMemory<byte>> batch, CancellationToken cancellationToken)
    {
        var outcome = await SendOnceAsync(batch, cancellationToken).ConfigureAwait(false);
        if (outcome.Outcome != SendOutcome.TooLarge)
        {
            return (outcome.Outcome, outcome.Outcome == SendOutcome.Retry ? batch : null, outcome.RetryAfter);
        }

        if (batch.Count == 1)
        {
            Drops.Add(SdkDropReason.TooLarge, 1);
            _refusedAlone++;
            _largestRefusedAlone = Math.Max(_largestRefusedAlone, batch[0].Length);
            return (SendOutcome.Dropped, null, null);
        }

        var half = batch.Count / 2;
        var first = await SplitAsync(batch.GetRange(0, half), cancellationToken).ConfigureAwait(false);
        if (first.Outcome == SendOutcome.Retry)
        {
            return (SendOutcome.Retry, [.. first.Retry!, .. batch.GetRange(half, batch.Count - half)], first.RetryAfter);
        }

        return await SplitAsync(batch.GetRange(half, batch.Count - half), cancellationToken).ConfigureAwait(false);
    }

    private async Task<(SendOutcome Outcome, TimeSpan? RetryAfter)> SendOnceAsync(List<ReadOnlyMemory<byte>> batch, CancellationToken cancellationToken)
    {
        var report = Drops.TakeReport();
        Compress(_compressed, batch, report);
        try
        {
            // The send timeout runs on the injected clock; HttpClient's own timeout is switched off because it only
            // knows the real one.
            using var sendTimeout = new CancellationTokenSource(_options.SendTimeout, _timeProvider);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, sendTimeout.Token);
            var (answer, redirectRefused, location) = await SendFollowingAsync(timeout.Token).ConfigureAwait(false);
            using var response = answer;
            var status = (int)response.StatusCode;
            if (redirectRefused is not null)
            {
                // Retrying would be redirected the same way.
                Drops.Add(SdkDropReason.Rejected, batch.Count);
                if (_redirectWarnings.TryTake(out var notWritten))
                {
                    if (ReferenceEquals(redirectRefused, NoLocation))
                    {
                        LogRedirectWithoutLocation(_logger, batch.Count, location, status, notWritten);
                    }
                    else
                    {
                        LogRedirectRefused(_logger, batch.Count, status, location, redirectRefused, notWritten);
                    }
                }

                return (SendOutcome.Dropped, null);
            }

            if (response.IsSuccessStatusCode)
            {
                if (response.RequestMessage is { } answered && answered.Method != HttpMethod.Post)
                {
                    // In a browser, where the page's fetch follows redirects itself: a 301, 302 or 303 on the way was followed
                    // with a GET, which carries no events, so whatever answered 2xx there (a login page, a proxy's landing
                    // page) did not take them.
                    Drops.Add(SdkDropReason.Rejected, batch.Count);
                    if (_redirectWarnings.TryTake(out var notWritten))
                    {
                        LogRedirectRefused(_logger, batch.Count, status, answered.RequestUri ?? location, "which the browser asked with a GET (no events)", notWritten);
                    }

                    return (SendOutcome.Dropped, null);
                }

                Drops.Reported(report);
                _lastFailure = null;
                return (SendOutcome.Delivered, null);
            }

            if (response.StatusCode == HttpStatusCode.RequestEntityTooLarge)
            {
                return (SendOutcome.TooLarge, null);
            }

            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                // The key is wrong or revoked: every further request would be refused the same way.
                Drops.Add(SdkDropReason.Unauthorized, batch.Count);
                if (Interlocked.Exchange(ref _unauthorized, 1) == 0)
                {
                    LogUnauthorized(_logger, status, await ReadReasonAsync(response, timeout.Token).ConfigureAwait(false));
                }

                return (SendOutcome.Dropped, null);
            }

            if (!IsRetryable(response.StatusCode))
            {
                // The server refused this batch for good (bad data): retrying cannot help.
                // A proxy or another service at the DSN's address refuses every batch alike: one line a minute says so
                // without writing a line into the app's log per batch.
                Drops.Add(SdkDropReason.Rejected, batch.Count);
                if (_rejectedWarnings.TryTake(out var notWritten))
                {
                    LogRejected(_logger, batch.Count, status, await ReadReasonAsync(response, timeout.Token).ConfigureAwait(false), notWritten);
                }

                return (SendOutcome.Dropped, null);
            }

            LogRetrying(_logger, status);
            _lastFailure = $"status {status}";
            return (SendOutcome.Retry, RetryAfter(response, _timeProvider.GetUtcNow()));
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException
            || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogRetrying(_logger, 0);
            _lastFailure = Describe(exception);
            return (SendOutcome.Retry, null);
        }
    }

    /// <summary>The reason for a 3xx that names no address: its line is a throttled one like any refused redirect's.</summary>
    private const string NoLocation = "no Location";

    /// <summary>
    /// Posts the compressed batch to the DSN's address, following a 307 or 308 that keeps the address's scheme, host and port
    /// (a path moved) at most <see cref="MaxRedirects"/> times. Any other redirect is not followed, and the reason is
    /// returned with its answer: a 301, 302 or 303 would be asked with a GET, which carries no events, and another
    /// scheme, host or port is not the address the app was given, so the project key is not sent there. A redirect without
    /// a Location is refused as <see cref="NoLocation"/>.
    /// </summary>
    private async Task<(HttpResponseMessage Response, string? RedirectRefused, Uri Location)> SendFollowingAsync(CancellationToken cancellationToken)
    {
        var target = _dsn.EventsUri;
        for (var redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, target);
            request.Headers.Add(KeyHeader, _dsn.PublicKey);
            // The loop's own buffer: the next batch is compressed into it only after this exchange is over.
            request.Content = new ByteArrayContent(_compressed.GetBuffer(), 0, (int)_compressed.Length);
            request.Content.Headers.ContentType = MessagePackMediaType;
            request.Content.Headers.ContentEncoding.Add("gzip");
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is < 300 or > 399)
            {
                return (response, null, target);
            }

            if (response.Headers.Location is not { } location)
            {
                // Nowhere to go, and asked again it answers the same: a misconfigured proxy or a 304 for a POST.
                return (response, NoLocation, target);
            }

            var next = location.IsAbsoluteUri ? location : new Uri(target, location);
            string? refused = status is not (307 or 308) ? "which would be asked with a GET (no events)"
                : Uri.Compare(next, _dsn.EventsUri, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0
                    ? "another scheme, host or port than the DSN's, where the SDK does not send the project key"
                : redirects >= MaxRedirects ? $"redirected more than {MaxRedirects} times"
                : null;
            if (refused is not null)
            {
                return (response, refused, next);
            }

            response.Dispose();
            target = next;
        }
    }

    /// <summary>A gzip'd batch of events, for tools and benchmarks that need what the SDK sends.</summary>
    internal static byte[] Encode(IReadOnlyList<ErrorHubEvent> batch)
    {
        var encoded = new List<ReadOnlyMemory<byte>>(batch.Count);
        foreach (var errorEvent in batch)
        {
            var buffer = new ArrayBufferWriter<byte>(4096);
            EventWireWriter.WriteEvent(buffer, errorEvent);
            encoded.Add(buffer.WrittenMemory);
        }

        return Encode(encoded, null);
    }

    private static byte[] Encode(List<ReadOnlyMemory<byte>> events, IReadOnlyList<KeyValuePair<string, long>>? dropped)
    {
        using var compressed = new MemoryStream();
        Compress(compressed, events, dropped);
        return compressed.ToArray();
    }

    /// <summary>
    /// The envelope, then each event's bytes, straight into gzip, into <paramref name="compressed"/> (emptied first): a
    /// batch is never joined in one buffer first, and the sender loop compresses every batch into the same stream, so a
    /// batch costs no large array of its own (one per batch, in the large-object heap, made the storm's gen2 collections).
    /// </summary>
    /// <remarks>Every batch of a storm: compiled optimized at start, with the report path (see EventPathWarmUp.PrepareCapturePath).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Compress(MemoryStream compressed, List<ReadOnlyMemory<byte>> events, IReadOnlyList<KeyValuePair<string, long>>? dropped)
    {
        var header = new ArrayBufferWriter<byte>(256);
        EventWireWriter.WriteBatchHeader(header, events.Count, dropped);
        compressed.SetLength(0);
        using var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true);
        gzip.Write(header.WrittenSpan);
        foreach (var encoded in events)
        {
            gzip.Write(encoded.Span);
        }
    }

    /// <summary>
    /// Why a request got no answer, in words an operator can act on: HttpClient's own message is often only "see the
    /// inner exception" (a certificate the machine does not trust, a name that does not resolve, a refused connection).
    /// </summary>
    private string Describe(Exception exception)
    {
        if (exception is OperationCanceledException)
        {
            return $"no answer within SendTimeout ({_options.SendTimeout})";
        }

        var reason = exception.Message;
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            reason += " " + inner.Message;
        }

        return reason;
    }

    private static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)status >= 500;

    private static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        // A date already past is no Retry-After: a server whose clock is behind sends one with every 503, and taken as
        // "now" it made the six attempts follow each other within milliseconds, giving the batch up before the server had
        // a moment to recover. "Retry-After: 0" is the server asking for the retry at once, and is taken as it comes.
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date && date > now ? date - now : null);
        return delay is { } value ? TimeSpan.FromTicks(Math.Clamp(value.Ticks, 0, MaxBackoff.Ticks)) : null;
    }

    private static TimeSpan Backoff(int attempt)
    {
        var seconds = Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, attempt - 1));
        return TimeSpan.FromSeconds(seconds * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    /// <summary>
    /// The start of a refusal's body, for the log line. Only that much is read: the server, or whatever answers at the DSN's
    /// address (a proxy's error page, a misconfigured host), may send a body of any length, and the app's memory must not
    /// hold it. The rest is left unread; the connection is then drained a little or closed by the handler.
    /// </summary>
    private static async Task<string> ReadReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        const int MaxReasonChars = 500;
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1024);
            var reason = new char[MaxReasonChars];
            var length = await reader.ReadBlockAsync(reason.AsMemory(), cancellationToken).ConfigureAwait(false);
            return new string(reason, 0, length);
        }
        catch (Exception)
        {
            return "";
        }
    }

    private enum SendOutcome
    {
        Delivered,
        Dropped,
        TooLarge,
        Retry,
    }

    [LoggerMessage(1, LogLevel.Warning, "ErrorHub queue is full ({Capacity} events): new events are dropped and counted until it drains")]
    private static partial void LogQueueFull(ILogger logger, int capacity);

    [LoggerMessage(2, LogLevel.Warning, "ErrorHub refused {Count} events with status {Status}: {Reason} (at most one such line a minute; {NotWritten} more refusals since the last one)")]
    private static partial void LogRejected(ILogger logger, int count, int status, string reason, long notWritten);

    [LoggerMessage(17, LogLevel.Warning, "ErrorHub could not deliver {Count} events: the DSN's address redirected them to {Location} (status {Status}), {Why}. Set the DSN to the ingest's own address (at most one such line a minute; {NotWritten} more since the last one)")]
    private static partial void LogRedirectRefused(ILogger logger, int count, int status, Uri location, string why, long notWritten);

    [LoggerMessage(29, LogLevel.Warning, "ErrorHub could not deliver {Count} events: the DSN's address {Address} answered status {Status}, a redirect without a Location header, so there is nowhere to send them. Set the DSN to the ingest's own address (at most one such line a minute; {NotWritten} more since the last one)")]
    private static partial void LogRedirectWithoutLocation(ILogger logger, int count, Uri address, int status, long notWritten);

    [LoggerMessage(3, LogLevel.Debug, "ErrorHub send failed (status {Status}); retrying")]
    private static partial void LogRetrying(ILogger logger, int status);

    [LoggerMessage(4, LogLevel.Warning, "ErrorHub gave up sending {Count} events after {Attempts} attempts; the last one failed: {Failure}")]
    private static partial void LogGaveUp(ILogger logger, int count, int attempts, string failure);

    [LoggerMessage(5, LogLevel.Warning, "ErrorHub could not send {Count} events: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, int count, string reason);

    [LoggerMessage(6, LogLevel.Warning, "ErrorHub gave up {Count} events at shutdown: ingest did not take them within ShutdownTimeout ({ShutdownTimeout}){LastFailure}")]
    private static partial void LogGaveUpAtShutdown(ILogger logger, long count, TimeSpan shutdownTimeout, string lastFailure);

    [LoggerMessage(7, LogLevel.Error, "ErrorHub stopped sending: ingest refused the key with status {Status} ({Reason}). Check the DSN; events are dropped until the app restarts")]
    private static partial void LogUnauthorized(ILogger logger, int status, string reason);

    [LoggerMessage(18, LogLevel.Warning, "ErrorHub dropped {Count} events that ingest refused as too large (413) even when sent alone; the largest was {Bytes} bytes (MaxBatchBytes {MaxBatchBytes}). Check the body size limit of ingest or of a proxy in front of it")]
    private static partial void LogRefusedAlone(ILogger logger, int count, int bytes, int maxBatchBytes);

    [LoggerMessage(19, LogLevel.Warning, "ErrorHub dropped an event of {Bytes} bytes: larger than a batch may be (MaxBatchBytes {MaxBatchBytes}). Later ones are counted as too_large without a line")]
    private static partial void LogEventTooLargeToQueue(ILogger logger, int bytes, int maxBatchBytes);

    [LoggerMessage(8, LogLevel.Warning, "ErrorHub dropped an event of {Bytes} bytes: larger than a batch may be (MaxBatchBytes {MaxBatchBytes}) or than ingest accepts")]
    private static partial void LogEventTooLarge(ILogger logger, int bytes, int maxBatchBytes);

    [LoggerMessage(9, LogLevel.Information, "ErrorHub kept {Count} unsent events in {Directory} at shutdown; they are sent at the next start")]
    private static partial void LogKeptAtShutdown(ILogger logger, int count, string directory);

    [LoggerMessage(14, LogLevel.Information, "ErrorHub kept the count of {Count} dropped events in {Directory} at shutdown; it is reported at the next start")]
    private static partial void LogKeptDropsAtShutdown(ILogger logger, long count, string directory);

    [LoggerMessage(16, LogLevel.Debug, "ErrorHub's warm-up of its event encoding failed; events are encoded as usual: {Reason}")]
    private static partial void LogWarmUpFailed(ILogger logger, string reason);

    [LoggerMessage(15, LogLevel.Information, "ErrorHub stopped before it could report {Count} dropped events to the server ({Reasons}); set CacheDirectory to report them after the next start")]
    private static partial void LogDropsUnreportedAtShutdown(ILogger logger, long count, string reasons);
}
