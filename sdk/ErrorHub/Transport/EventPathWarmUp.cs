using System.Buffers;
using ErrorHub.Internal;

namespace ErrorHub.Transport;

/// <summary>
/// Gets the code that encodes an event compiled optimized before the app's first failures need it, on the SDK's own
/// background task instead of the app's request threads. Without it, an exception storm in an app's first
/// half-minute runs the encoding at the JIT's tier 0 (about 5× slower: docs/benchmarks.md, sections "storm3" and
/// "storm4"), because the JIT's tiering waits for a quiet second that a saturated core never gives it.
/// A synthetic event (never queued, never sent) is encoded into an array of the sender's pool and the array handed
/// back; bounded to <see cref="Bursts"/> × <see cref="EventsPerBurst"/> encodes.
/// </summary>
internal static class EventPathWarmUp
{
    internal const int Bursts = 1;
    internal const int EventsPerBurst = 1;
    internal static readonly TimeSpan BurstInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>What the synthetic event's request holds: shaped like a real request's copy, nothing of any real one.</summary>
    internal static readonly RequestSnapshot Request = new SyntheticRequest();

    internal const string Message = "ErrorHub warm-up: this event is encoded and discarded, never sent";

    public static async Task RunAsync(Func<ErrorHubEvent> makeEvent, ArrayPool<byte> pool, CancellationToken stopping)
    {
        var errorEvent = makeEvent();
        for (var burst = 0; burst < Bursts; burst++)
        {
            for (var i = 0; i < EventsPerBurst && !stopping.IsCancellationRequested; i++)
            {
                EncodedEvent.Encode(errorEvent, pool).Return();
            }

            if (burst + 1 < Bursts)
            {
                await Task.Delay(BurstInterval, stopping).ConfigureAwait(false);
            }
        }
    }

    private sealed class SyntheticRequest : RequestSnapshot
    {
        private const string Method = "GET";
        private const string Url = "http://localhost/errorhub-warm-up";

        private static readonly KeyValuePair<string, string>[] Headers =
        [
            new("Accept", "*/*"),
            new("Host", "localhost"),
            new("User-Agent", "ErrorHub warm-up"),
        ];

        public override (string? Method, string? Url, string? QueryString, IDictionary<string, string> Headers, IDictionary<string, string> Form) Fill() =>
            (Method, Url, null, new Dictionary<string, string>(Headers, StringComparer.OrdinalIgnoreCase), new Dictionary<string, string>(StringComparer.Ordinal));

        public override bool TryReadForWire(out WireRequest request)
        {
            request = new WireRequest(Method, Url, null, Headers, null);
            return true;
        }
    }
}
