using ErrorHub.Ingestion.Decoding;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// What distinguishes one version of the grouping rules from the one before it. Version 3 is version 2
/// with more general .NET knowledge (docs/grouping.md, "Version 3"): more framework namespaces, throw
/// helpers written as local functions, and UI frameworks' thread checks as guards. Version 2 stays
/// computable: an event whose version-3 fingerprint differs from its version-2 one carries the
/// version-2 fingerprint as its legacy one, so the issues version 2 made keep their events.
/// </summary>
internal sealed class GroupingRules
{
    /// <summary>A version on top of <paramref name="previous"/>; internal so that tests can check the chain of versions with one not released.</summary>
    internal GroupingRules(int version, GroupingRules? previous, string[] addedFrameworkNamespaces, bool localThrowHelpers, bool threadChecksAreGuards)
    {
        Version = version;
        Previous = previous;
        AddedFrameworkNamespaces = addedFrameworkNamespaces;
        LocalThrowHelpers = localThrowHelpers;
        ThreadChecksAreGuards = threadChecksAreGuards;
    }

    public static GroupingRules V2 { get; } = new(2, previous: null, [], localThrowHelpers: false, threadChecksAreGuards: false);

    /// <summary>
    /// Version 2 and: the UI frameworks and libraries whose frames version 2 took for the app's code
    /// (Avalonia; the Realm database; Orleans; MassTransit and NServiceBus; ReactiveUI, DynamicData and the
    /// MVVM toolkit; Nancy; .NET Native's generated interop, __Interop); a local function named Throw*
    /// (<c>&lt;VerifyAccess&gt;g__ThrowVerifyAccess|16_0</c>) is a throw helper like a method named so; a
    /// UI framework's thread check (Dispatcher.VerifyAccess) refuses its caller's thread, a guard.
    /// </summary>
    public static GroupingRules V3 { get; } = new(3, V2,
        ["Avalonia", "Realms", "Orleans", "MassTransit", "NServiceBus", "ReactiveUI", "DynamicData", "CommunityToolkit", "Nancy", "__Interop"],
        localThrowHelpers: true, threadChecksAreGuards: true);

    /// <summary>The rules ingest groups by.</summary>
    public static GroupingRules Current => V3;

    public int Version { get; }

    /// <summary>The version before this one, whose fingerprints this one's events carry as legacy ones where they differ; null for version 2 (version 1 is frozen apart).</summary>
    public GroupingRules? Previous { get; }

    /// <summary>
    /// Namespaces that are never the app's code, added by this version to the ones of the versions before it (version 2's
    /// are in <see cref="DotNetFrames"/>); a version's framework namespaces are its own and all its predecessors'.
    /// </summary>
    public string[] AddedFrameworkNamespaces { get; }

    /// <summary>Local functions named Throw* are throw helpers.</summary>
    public bool LocalThrowHelpers { get; }

    /// <summary>A dispatcher's VerifyAccess that throws is a framework guard: the caller's thread is the bug.</summary>
    public bool ThreadChecksAreGuards { get; }

    /// <summary>
    /// Whether this version can group the event otherwise than <see cref="Previous"/>: only then is the
    /// previous version's fingerprint computed. Errs on the side of yes (a cheap test of names), and reads
    /// both the compiler's names (<c>&lt;M&gt;g__ThrowX|3_0</c>) and the .NET SDK's normalized ones (<c>M.ThrowX</c>).
    /// </summary>
    public bool MayDifferFromPrevious(IncomingEvent incoming)
    {
        if (Previous is null)
        {
            return false;
        }

        // Only what this version adds can make it differ: a rule it shares with the version before groups alike in both.
        var addsLocalThrowHelpers = LocalThrowHelpers && !Previous.LocalThrowHelpers;
        var addsThreadChecks = ThreadChecksAreGuards && !Previous.ThreadChecksAreGuards;
        var exceptions = incoming.Exceptions;
        for (var e = 0; e < exceptions.Count; e++)
        {
            if (HasAddedNamespace(exceptions[e].Type))
            {
                return true;
            }

            var frames = exceptions[e].Frames;
            for (var f = 0; f < frames.Count; f++)
            {
                var frame = frames[f];
                if (HasAddedNamespace(frame.Type)
                    || (addsLocalThrowHelpers && (Contains(frame.Function, "g__Throw") || Contains(frame.Function, ".Throw") || Contains(frame.Type, "g__Throw")))
                    || (addsThreadChecks && Contains(frame.Function, "VerifyAccess")))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private bool HasAddedNamespace(string? typeName)
    {
        if (string.IsNullOrEmpty(typeName))
        {
            return false;
        }

        var name = typeName.AsSpan().TrimStart();
        foreach (var prefix in AddedFrameworkNamespaces)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(string? text, string part) => text is not null && text.Contains(part, StringComparison.Ordinal);
}
