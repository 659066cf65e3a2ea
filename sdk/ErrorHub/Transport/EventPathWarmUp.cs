using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
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

    /// <summary>
    /// Compiles, without running any of them, the methods a report runs through on the failing request's thread (the
    /// capture in the exception filter, the scope, the request's copy and the completion, the queue) that are marked
    /// <see cref="MethodImplOptions.AggressiveOptimization"/>: such a method has one version only, compiled fully
    /// optimized, and preparing it compiles that version here instead of on the first failing request. Nothing runs, so
    /// nothing is captured, remembered, queued or counted. In a storm's first seconds these ran at tier 0 (with the
    /// request copy's, about a tenth of a live-sink app's samples; docs/benchmarks.md, section "storm5"): the JIT's
    /// tiering waits for a quiet second that a storm on a saturated core never gives it. Only the methods of
    /// <paramref name="types"/> and of their nested types (lambdas, closures, nested classes) that carry the attribute
    /// and are not generic; stops early when <paramref name="stopping"/> is set. The runtime does not compile a sealed
    /// implementation of an interface method this way (measured: <c>PrepareMethod</c> leaves it to its first call), so
    /// the report path's interface methods only call on to optimized methods of their own.
    /// </summary>
    /// <returns>How many methods were prepared.</returns>
    public static int PrepareCapturePath(IEnumerable<Type> types, CancellationToken stopping)
    {
        var prepared = 0;
        foreach (var type in types)
        {
            if (stopping.IsCancellationRequested)
            {
                break;
            }

            prepared += Prepare(type);
        }

        return prepared;
    }

    /// <summary>The type's methods and those of the types nested in it, at any depth (a nested class's lambdas).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "What the trimmer removed is never run, so it needs no compiling ahead.")]
    private static int Prepare(Type type)
    {
        var prepared = PrepareDeclared(type);
        foreach (var nested in type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
        {
            prepared += Prepare(nested);
        }

        return prepared;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "What the trimmer removed is never run, so it needs no compiling ahead.")]
    private static int PrepareDeclared(Type type)
    {
        const BindingFlags Declared = BindingFlags.DeclaredOnly | BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
        if (type.ContainsGenericParameters)
        {
            return 0;
        }

        var prepared = 0;
        foreach (var method in type.GetMethods(Declared).Concat<MethodBase>(type.GetConstructors(Declared)))
        {
            if ((method.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0
                && !method.IsAbstract && !method.ContainsGenericParameters)
            {
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
                prepared++;
            }
        }

        return prepared;
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
