using System.Collections.Concurrent;
using ErrorHub.Protocol;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// <see cref="DotNetNames"/>' normalizations, remembered: grouping asks for the same frame's names several times per event
/// (noise, plumbing, throw helper, app frame, keys of both versions) and the same few thousand frames come back in every
/// batch, while each normalization allocates a list, the joined name and its parts. The results are the same strings
/// <see cref="DotNetNames"/> gives. Bounded: past <see cref="MaxEntries"/> names (a client sending ever new ones) new names are
/// normalized every time and not kept. Names are at most <see cref="IngestLimits.MaxShortChars"/> long (256 by default), so
/// whatever clients send the cache stays under about 50 MB at the default limits, and a few megabytes with real traces.
/// </summary>
internal static class NormalizedNames
{
    internal const int MaxEntries = 20_000;

    private static readonly ConcurrentDictionary<(string? Type, string Function), Frame> Frames = new();
    private static readonly ConcurrentDictionary<string, string> TypeNames = new(StringComparer.Ordinal);
    private static int s_entries;

    /// <summary>What <see cref="DotNetNames.Normalize"/> gives for these names.</summary>
    public static (string? Type, string Function) Normalize(string? typeName, string methodName)
    {
        var frame = Of(typeName, methodName);
        return (frame.Type, frame.Function);
    }

    /// <summary>"Namespace.Type.Method" of a frame with a declaring type (both grouping versions key frames so); null without one.</summary>
    public static string? TypeAndFunction(string? typeName, string methodName) => Of(typeName, methodName).TypeAndFunction;

    private static Frame Of(string? typeName, string methodName)
    {
        if (Frames.TryGetValue((typeName, methodName), out var frame))
        {
            return frame;
        }

        var (type, function) = DotNetNames.Normalize(typeName, methodName);
        frame = new Frame(type, function, string.IsNullOrEmpty(type) ? null : $"{type}.{function}");
        if (Room())
        {
            Frames.TryAdd((typeName, methodName), frame);
        }

        return frame;
    }

    /// <summary>What <see cref="DotNetNames.NormalizeTypeName"/> gives for this name.</summary>
    public static string NormalizeTypeName(string typeName)
    {
        if (TypeNames.TryGetValue(typeName, out var normalized))
        {
            return normalized;
        }

        normalized = DotNetNames.NormalizeTypeName(typeName);
        if (Room())
        {
            TypeNames.TryAdd(typeName, normalized);
        }

        return normalized;
    }

    /// <summary>Names kept so far (both kinds).</summary>
    internal static int Count => Volatile.Read(ref s_entries);

    private sealed record Frame(string? Type, string Function, string? TypeAndFunction);

    private static bool Room() => Volatile.Read(ref s_entries) < MaxEntries && Interlocked.Increment(ref s_entries) <= MaxEntries;
}
