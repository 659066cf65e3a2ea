using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// When the runtime's tiered compilation holds back and resumes its promotions to optimized code, and which methods
/// run for the first time meanwhile (<c>sdk-storm-app &lt;mode&gt;+tiering</c>, docs/benchmarks.md, section "storm13").
/// The runtime waits to count calls (and so to compile hot methods at tier 1) until no method has been called for the
/// first time for a while; every first call restarts that wait (<c>TieredCompilationPause</c>/<c>Resume</c> events).
/// A first call is a method compiled at tier 0 (<c>MethodLoadVerbose</c>) or a precompiled method's entry point looked
/// up (<c>R2RGetEntryPoint</c>). A diagnostic of the benchmark app, never part of the SDK.
/// </summary>
internal sealed class TieringLog : EventListener
{
    private const EventKeywords Jit = (EventKeywords)0x10;
    private const EventKeywords TieredCompilation = (EventKeywords)0x1000000000;
    private const EventKeywords CompilationDiagnostic = (EventKeywords)0x2000000000;

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentDictionary<string, byte> _names = new();

    // A compile's start (MethodJittingStarted) by method and thread, so that its MethodLoadVerbose can tell how long the
    // JIT took: what a first call costs the thread that makes it (docs/benchmarks.md, section 86).
    private readonly ConcurrentDictionary<(object?, long), DateTime> _jitStarts = new();

    public string Report()
    {
        var text = new StringBuilder();
        foreach (var line in _lines)
        {
            text.AppendLine(line);
        }

        return text.ToString();
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, Jit | TieredCompilation | CompilationDiagnostic);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        var at = _clock.Elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture);
        if (e.EventName is { } eventName && _names.TryAdd(eventName, 0))
        {
            _lines.Enqueue($"{at} event-name {eventName}");
        }

        switch (e.EventName)
        {
            case "TieredCompilationPause":
            case "TieredCompilationResume":
            case "TieredCompilationBackgroundJitStart":
            case "TieredCompilationBackgroundJitStop":
                _lines.Enqueue($"{at} {e.EventName} {string.Join(" ", e.PayloadNames?.Select((n, i) => $"{n}={e.Payload?[i]}") ?? [])}");
                break;
            case "MethodJittingStarted" or "MethodJittingStarted_V1":
                _jitStarts[(e.PayloadNames is { } startNames ? e.Payload?[startNames.IndexOf("MethodID")] : null, e.OSThreadId)] = e.TimeStamp;
                break;
            case "MethodLoadVerbose" or "MethodLoadVerbose_V1" or "MethodLoadVerbose_V2" or "R2RGetEntryPoint":
                var payload = e.PayloadNames?.Select((n, i) => (n, e.Payload?[i])).ToDictionary(p => p.n, p => p.Item2) ?? [];
                var jitMs = e.EventName != "R2RGetEntryPoint" && _jitStarts.TryRemove((payload.GetValueOrDefault("MethodID"), e.OSThreadId), out var started)
                    ? (e.TimeStamp - started).TotalMilliseconds.ToString("F3", CultureInfo.InvariantCulture)
                    : "-";
                var name = $"{payload.GetValueOrDefault("MethodNamespace")}::{payload.GetValueOrDefault("MethodName")}";
                // A compile's tier is in its MethodFlags (bits 7-9: 1 MinOptJitted, 2 Optimized, 3 QuickJitted, 4 OptimizedTier1, ...).
                var tier = payload.GetValueOrDefault("OptimizationTier")?.ToString()
                    ?? (payload.GetValueOrDefault("MethodFlags") is { } flags ? "tier" + ((Convert.ToUInt32(flags, CultureInfo.InvariantCulture) >> 7) & 7) : null)
                    ?? (e.EventName == "R2RGetEntryPoint" ? "R2R" : "?");
                // The method's signature tells generic instantiations apart; the thread, a request's compile from the background JIT's.
                _lines.Enqueue($"{at} {e.EventName} {tier} {name} jit-ms={jitMs} thread={e.OSThreadId} sig={payload.GetValueOrDefault("MethodSignature")}");
                break;
        }
    }
}
