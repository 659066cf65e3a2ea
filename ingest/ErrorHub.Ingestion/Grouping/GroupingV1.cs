using System.Text.RegularExpressions;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// Grouping version 1, frozen: the exception type chain and every in-app frame. Issues made before
/// version 2 are keyed by these fingerprints, so ingest still computes them for every event and the
/// store files an event under its version-1 issue when that issue exists (docs/grouping.md, "Issues
/// from version 1"). Nothing here may change: the pinned version-1 fingerprints in the tests guard it.
/// </summary>
internal static partial class GroupingV1
{
    public const int Version = 1;

    /// <summary>Only the start of a long message is parameterized and hashed.</summary>
    internal const int MaxParameterizedChars = 1024;

    public static string Fingerprint(IncomingEvent incoming) => Grouper.Hash(Components(incoming));

    /// <summary>What the fingerprint is a hash of: the client's parts (with the default expanded), or the default.</summary>
    internal static List<string> Components(IncomingEvent errorEvent)
    {
        var clientFingerprint = errorEvent.Fingerprint;
        if (clientFingerprint is not { Count: > 0 } || clientFingerprint.All(Grouper.IsDefaultPlaceholder))
        {
            return DefaultComponents(errorEvent);
        }

        var components = new List<string> { "custom" };
        foreach (var part in clientFingerprint)
        {
            if (Grouper.IsDefaultPlaceholder(part))
            {
                components.AddRange(DefaultComponents(errorEvent));
            }
            else
            {
                components.Add(part);
            }
        }

        return components;
    }

    /// <summary>
    /// For each exception of the chain, its type followed by its in-app frames as "Type.Method"
    /// (names normalized, no line numbers or offsets). Without any in-app frame: the outermost
    /// exception's type and its message with variable parts replaced. Without an exception: the
    /// logger and the parameterized message.
    /// </summary>
    internal static List<string> DefaultComponents(IncomingEvent errorEvent)
    {
        var components = new List<string>();
        if (errorEvent.Exceptions.Count == 0)
        {
            components.Add("message");
            components.Add(errorEvent.Logger ?? "");
            components.Add(Parameterize(errorEvent.Message ?? ""));
            return components;
        }

        var inAppFrames = 0;
        foreach (var exception in errorEvent.Exceptions)
        {
            components.Add("type:" + NormalizedNames.NormalizeTypeName(exception.Type));
            foreach (var frame in exception.Frames)
            {
                // Version 1 reads the client's mark as sent: a NuGet package's frame is marked (FrameRecord.Package).
                if (frame.InApp || frame.Package)
                {
                    components.Add("frame:" + FrameKey(frame));
                    inAppFrames++;
                }
            }
        }

        if (inAppFrames == 0)
        {
            var outermost = errorEvent.Exceptions[0];
            components.Clear();
            components.Add("type:" + NormalizedNames.NormalizeTypeName(outermost.Type));
            components.Add("message:" + Parameterize(outermost.Value));
        }

        return components;
    }

    /// <summary>A frame as "Namespace.Type.Method", names normalized; without a type "module!function".</summary>
    internal static string FrameKey(FrameRecord frame)
    {
        if (NormalizedNames.TypeAndFunction(frame.Type, frame.Function) is { } key)
        {
            return key;
        }

        var (_, function) = NormalizedNames.Normalize(frame.Type, frame.Function);

        // A client that sends no declaring type (not the .NET SDK) still tells methods of different modules apart.
        return string.IsNullOrEmpty(frame.Module) ? function : $"{frame.Module}!{function}";
    }

    /// <summary>Replaces the parts of a message that differ between occurrences of the same problem.</summary>
    internal static string Parameterize(string message)
    {
        var text = message.Length > MaxParameterizedChars ? message[..MaxParameterizedChars] : message;
        text = UrlPattern().Replace(text, "<url>");
        text = EmailPattern().Replace(text, "<email>");
        text = GuidPattern().Replace(text, "<guid>");
        text = Ipv6Pattern().Replace(text, "<ip>");
        text = Ipv4Pattern().Replace(text, "<ip>");
        text = HexPattern().Replace(text, "<hex>");
        text = NumberPattern().Replace(text, static m => m.Value.Contains('.', StringComparison.Ordinal) ? "<float>" : "<int>");
        text = SingleQuotedPattern().Replace(text, "'<value>'");
        text = DoubleQuotedPattern().Replace(text, "\"<value>\"");
        return text;
    }

    [GeneratedRegex(@"[\w.+-]+@[\w-]+(\.[\w-]+)+", RegexOptions.CultureInvariant)]
    internal static partial Regex EmailPattern();

    [GeneratedRegex(@"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'""<>]+", RegexOptions.CultureInvariant)]
    internal static partial Regex UrlPattern();

    [GeneratedRegex(@"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b", RegexOptions.CultureInvariant)]
    internal static partial Regex GuidPattern();

    /// <summary>Full IPv6 addresses (eight groups) and compressed ones (with "::").</summary>
    [GeneratedRegex(@"(?<![\w:.])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?)(?![\w:.])", RegexOptions.CultureInvariant)]
    internal static partial Regex Ipv6Pattern();

    [GeneratedRegex(@"(?<![\w.])\d{1,3}(\.\d{1,3}){3}(?![\w.])", RegexOptions.CultureInvariant)]
    internal static partial Regex Ipv4Pattern();

    [GeneratedRegex(@"\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", RegexOptions.CultureInvariant)]
    internal static partial Regex HexPattern();

    /// <summary>A number not inside a word; a unit right after it stays ("30000ms" → "&lt;int&gt;ms").</summary>
    [GeneratedRegex(@"(?<!\w)-?\d+(\.\d+)?(?=[A-Za-z]{0,3}(?!\w))", RegexOptions.CultureInvariant)]
    internal static partial Regex NumberPattern();

    /// <summary>A quoted value, not an apostrophe inside a word ("can't", "Ada's").</summary>
    [GeneratedRegex(@"(?<!\w)'[^'\r\n]{0,200}'(?!\w)", RegexOptions.CultureInvariant)]
    internal static partial Regex SingleQuotedPattern();

    [GeneratedRegex(@"(?<!\w)""[^""\r\n]{0,200}""(?!\w)", RegexOptions.CultureInvariant)]
    internal static partial Regex DoubleQuotedPattern();
}
