using System.Collections.Concurrent;
using ErrorHub.Storage;
using Microsoft.Extensions.Options;

namespace ErrorHub.Ingestion.Quotas;

/// <summary>
/// Per-project quotas on accepted events: the project's rate limit (its own events per minute, or the server's
/// default) and spike protection (a burst allowance refilled at a steady rate, the same for every project), so
/// one project's flood cannot take the store from the others. A batch is let in whole or refused whole (429
/// with the time until it would fit); a batch larger than a bucket counts as a full bucket, so no batch is
/// refused forever.
/// </summary>
/// <remarks>
/// The buckets keep time on the injected <see cref="TimeProvider"/>: System.Threading.RateLimiting's limiters
/// keep their own clock (<c>Stopwatch</c>, <c>Environment.TickCount</c>) and timers, which cannot be tested
/// without waiting on the real clock, and take whole permits per period where a limit per minute needs a
/// fraction of a token per second.
/// </remarks>
internal sealed class ProjectQuotas(IOptions<IngestLimits> limits, TimeProvider timeProvider)
{
    private readonly IngestLimits _limits = limits.Value;
    private readonly ConcurrentDictionary<int, ProjectBuckets> _projects = new();

    /// <summary>
    /// Before the body is read: refuses at once when the project's quota has no room for even one event, with the
    /// time until a batch as large as the project's last one would fit (the size of this one is not known yet).
    /// </summary>
    public QuotaAnswer CheckRoom(int projectId, ProjectSettings settings) => Buckets(projectId, settings).Take(0, timeProvider.GetTimestamp());

    /// <summary>Takes <paramref name="events"/> from the project's quota, or refuses the batch and says why and for how long.</summary>
    public QuotaAnswer TryTake(int projectId, ProjectSettings settings, int events) => Buckets(projectId, settings).Take(events, timeProvider.GetTimestamp());

    private ProjectBuckets Buckets(int projectId, ProjectSettings settings)
    {
        // Only projects that passed the key check get here, so there are as many entries as live projects.
        var rateLimit = settings.RateLimitPerMinute ?? _limits.DefaultRateLimitPerMinute;
        var buckets = _projects.GetOrAdd(projectId, static (_, state) => state.Self.Create(state.RateLimit), (Self: this, RateLimit: rateLimit));
        if (buckets.RateLimitPerMinute != rateLimit)
        {
            // The limit was changed (in the dashboard): a new allowance at the new rate.
            var changed = Create(rateLimit);
            buckets = _projects.TryUpdate(projectId, changed, buckets) ? changed : _projects[projectId];
        }

        return buckets;
    }

    private ProjectBuckets Create(int? rateLimitPerMinute)
    {
        var now = timeProvider.GetTimestamp();
        var rate = rateLimitPerMinute is int perMinute && perMinute > 0
            ? new TokenBucket(perMinute, perMinute / 60.0, now, timeProvider)
            : null;
        var spike = _limits.SpikeEventsPerSecond > 0
            ? new TokenBucket(_limits.SpikeBurstEvents, _limits.SpikeEventsPerSecond, now, timeProvider)
            : null;
        return new ProjectBuckets(rateLimitPerMinute, rate, spike);
    }

    private sealed class ProjectBuckets(int? rateLimitPerMinute, TokenBucket? rateLimit, TokenBucket? spike)
    {
        private readonly Lock _lock = new();
        private int _lastBatchEvents = 1;

        public int? RateLimitPerMinute => rateLimitPerMinute;

        /// <summary>Takes from both buckets or from neither; <paramref name="events"/> 0 asks whether one event would fit.</summary>
        public QuotaAnswer Take(int events, long now)
        {
            lock (_lock)
            {
                rateLimit?.Refill(now);
                spike?.Refill(now);
                var expected = events > 0 ? events : _lastBatchEvents;
                if (events > 0)
                {
                    _lastBatchEvents = events;
                }

                if (rateLimit is not null && !rateLimit.Has(events))
                {
                    return new QuotaAnswer(DropReason.RateLimit, rateLimit.TimeUntil(expected));
                }

                if (spike is not null && !spike.Has(events))
                {
                    return new QuotaAnswer(DropReason.SpikeProtection, spike.TimeUntil(expected));
                }

                rateLimit?.Take(events);
                spike?.Take(events);
                return QuotaAnswer.Admitted;
            }
        }
    }

    /// <summary>A token bucket: holds up to <paramref name="capacity"/> events, refilled at <paramref name="perSecond"/>; starts full.</summary>
    private sealed class TokenBucket(double capacity, double perSecond, long now, TimeProvider timeProvider)
    {
        private readonly double _capacity = capacity;
        private double _tokens = capacity;
        private long _refilled = now;

        public void Refill(long now)
        {
            var elapsed = timeProvider.GetElapsedTime(_refilled, now).TotalSeconds;
            if (elapsed > 0)
            {
                _tokens = Math.Min(_capacity, _tokens + (elapsed * perSecond));
                _refilled = now;
            }
        }

        public bool Has(int events) => _tokens >= Need(events);

        public void Take(int events) => _tokens -= Math.Min(events, _capacity);

        public TimeSpan TimeUntil(int events) => TimeSpan.FromSeconds((Need(events) - _tokens) / perSecond);

        // A batch larger than the bucket counts as a full bucket; asking for room means room for one event.
        private double Need(int events) => Math.Clamp(events, 1, _capacity);
    }
}

/// <summary>Whether a batch fits its project's quota, and when not, which one refused it and how long until it would fit.</summary>
internal readonly record struct QuotaAnswer(DropReason? RefusedFor, TimeSpan RetryAfter)
{
    public static QuotaAnswer Admitted => default;
}
