using System.Runtime.CompilerServices;

namespace ErrorHub.Internal;

/// <summary>
/// The methods every reported exception runs through (the capture, the request copy, the encoding, the sender's
/// batching) are compiled optimized at their first call instead of climbing the JIT's tiers. They run rarely until an
/// exception storm and then thousands of times a second, on the cores the app's own requests need: tiered, they ran
/// unoptimized (and instrumented) through a storm's first tens of seconds on a busy core, and their recompilations
/// competed with the requests (docs/benchmarks.md, section "storm3"). The price is a slower first compilation of
/// each, paid once, by the first exception.
/// </summary>
internal static class EventPath
{
    internal const MethodImplOptions Optimized = MethodImplOptions.AggressiveOptimization;
}
