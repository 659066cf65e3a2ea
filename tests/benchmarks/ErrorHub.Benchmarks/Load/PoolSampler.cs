using System.Globalization;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// The storm app's thread pool as requests see it (<c>sdk-storm-app &lt;mode&gt;+pool</c>, docs/benchmarks.md, section
/// "storm13"): a thread of its own reads <see cref="ThreadPool.PendingWorkItemCount"/> (work items queued, not yet
/// started: what a request's next step waits behind) and <see cref="ThreadPool.ThreadCount"/> every millisecond, and the
/// work items completed between a reset and a report. A diagnostic of the benchmark app, never part of the SDK; it wakes
/// once a millisecond on the app's core, in either app alike.
/// </summary>
internal sealed class PoolSampler : IDisposable
{
    private static readonly int[] Bounds = [0, 1, 3, 7, 15, 31, 63];

    private readonly Thread _thread;
    private readonly Lock _lock = new();
    private volatile bool _stopped;
    private long _samples;
    private long _pendingSum;
    private long _pendingMax;
    private long _threadSum;
    private long[] _histogram = new long[Bounds.Length + 1];
    private long _completedAtReset = ThreadPool.CompletedWorkItemCount;
    private long _resetTicks = Environment.TickCount64;

    public PoolSampler()
    {
        _thread = new Thread(Sample) { IsBackground = true, Name = "pool sampler" };
        _thread.Start();
    }

    public void Reset()
    {
        lock (_lock)
        {
            (_samples, _pendingSum, _pendingMax, _threadSum) = (0, 0, 0, 0);
            _histogram = new long[Bounds.Length + 1];
            _completedAtReset = ThreadPool.CompletedWorkItemCount;
            _resetTicks = Environment.TickCount64;
        }
    }

    public PoolReport Report()
    {
        lock (_lock)
        {
            var seconds = Math.Max(1, Environment.TickCount64 - _resetTicks) / 1000.0;
            var samples = Math.Max(1, _samples);
            var labels = Bounds.Select((b, i) => i == 0 ? "0" : $"{Bounds[i - 1] + 1}-{b}").Append($">{Bounds[^1]}");
            return new PoolReport(
                _samples,
                (double)_pendingSum / samples,
                _pendingMax,
                (double)_threadSum / samples,
                (ThreadPool.CompletedWorkItemCount - _completedAtReset) / seconds,
                string.Join(", ", labels.Zip(_histogram, (label, count) => string.Create(CultureInfo.InvariantCulture, $"{label}: {100.0 * count / samples:F1} %"))));
        }
    }

    public void Dispose() => _stopped = true;

    private void Sample()
    {
        while (!_stopped)
        {
            Thread.Sleep(1);
            var pending = ThreadPool.PendingWorkItemCount;
            var threads = ThreadPool.ThreadCount;
            lock (_lock)
            {
                _samples++;
                _pendingSum += pending;
                _pendingMax = Math.Max(_pendingMax, pending);
                _threadSum += threads;
                var bucket = Array.FindIndex(Bounds, b => pending <= b);
                _histogram[bucket < 0 ? Bounds.Length : bucket]++;
            }
        }
    }
}

/// <summary>What <see cref="PoolSampler"/> saw since its last reset: queued work items (mean, max, share of samples by count), pool threads, work items completed a second.</summary>
internal sealed record PoolReport(long Samples, double PendingMean, long PendingMax, double ThreadsMean, double CompletedPerSecond, string PendingShares);
