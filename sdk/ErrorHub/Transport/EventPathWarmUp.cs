using System.Buffers;
using ErrorHub.Internal;

namespace ErrorHub.Transport;

/// <summary>
/// Gets the code that encodes an event compiled fully optimized before the app's first failure needs it, on a
/// background task of the SDK's own instead of a request thread. That code is marked
/// <see cref="System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization"/> (compiled optimized at its
/// first call, about 16 KB in small methods), and a synthetic event (never queued, never sent) is encoded twice into
/// an array of the sender's pool, the array handed back. Without it, an exception storm in an app's first half-minute ran the
/// encoding at the JIT's tier 0, twice as costly: on an app's one saturated core the JIT's tiering waits for a quiet
/// second that a storm never gives it (docs/benchmarks.md, sections "storm3" and "storm4"). Tiering by call counts
/// (encoding the event often, spread over the tiering delay) was tried and measured: during a storm it promoted nothing.
/// </summary>
internal static class EventPathWarmUp
{
    /// <summary>What the synthetic event's request holds: shaped like a real request's copy, nothing of any real one.</summary>
    internal static readonly RequestSnapshot Request = new SyntheticRequest();

    internal const string Message = "ErrorHub warm-up: this event is encoded and discarded, never sent";

    /// <summary>
    /// Encodes the event twice as captured: the second time its trace's bytes are found cached, as for a storm's
    /// events. (An event whose exceptions or request a <c>BeforeSend</c> read takes two more small methods, compiled at
    /// its first use: not warmed up, as reading them would add some 30 methods of reflection to this warm-up.)
    /// </summary>
    public static void Run(Func<ErrorHubEvent> makeEvent, ArrayPool<byte> pool)
    {
        var errorEvent = makeEvent();
        EncodedEvent.Encode(errorEvent, pool).Return();
        EncodedEvent.Encode(errorEvent, pool).Return();
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
