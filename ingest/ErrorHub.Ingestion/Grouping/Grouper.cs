using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ErrorHub.Protocol;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// Decides which issue an event belongs to (its fingerprint) and how the issue is titled. The rules
/// are versioned and explained in docs/grouping.md; every event records the version that grouped it,
/// so a future version can change the rules without silently merging or splitting old issues.
/// Changing anything here that changes a fingerprint is a new version: the pinned fingerprints in
/// the grouping tests fail until it is.
/// </summary>
internal static partial class Grouper
{
    public const int Version = 1;

    /// <summary>Longest title, the ellipsis included.</summary>
    internal const int MaxTitleChars = 200;

    /// <summary>Only the start of a long message is parameterized and hashed.</summary>
    internal const int MaxParameterizedChars = 1024;

    /// <summary>The pipeline's grouping step: reads only what the client sent about the failure.</summary>
    public static EventGrouping Group(IncomingEvent incoming) =>
        new(Hash(Components(incoming)), Version, Title(incoming), Culprit(incoming));

    /// <summary>What the fingerprint is a hash of: the client's parts (with the default expanded), or the default.</summary>
    internal static List<string> Components(IncomingEvent errorEvent)
    {
        var clientFingerprint = errorEvent.Fingerprint;
        if (clientFingerprint is not { Count: > 0 } || clientFingerprint.All(IsDefaultPlaceholder))
        {
            return DefaultComponents(errorEvent);
        }

        var components = new List<string> { "custom" };
        foreach (var part in clientFingerprint)
        {
            if (IsDefaultPlaceholder(part))
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
    /// v1: for each exception of the chain, its type followed by its in-app frames as "Type.Method"
    /// (names normalized, no line numbers or offsets, which change with every build). Without any
    /// in-app frame: the outermost exception's type and its message with variable parts replaced.
    /// Without an exception: the logger and the parameterized message.
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
            components.Add("type:" + DotNetNames.NormalizeTypeName(exception.Type));
            foreach (var frame in exception.Frames)
            {
                if (frame.InApp)
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
            components.Add("type:" + DotNetNames.NormalizeTypeName(outermost.Type));
            components.Add("message:" + Parameterize(outermost.Value));
        }

        return components;
    }

    /// <summary>"{{ default }}", also written without or with more spaces.</summary>
    internal static bool IsDefaultPlaceholder(string part)
    {
        var text = part.AsSpan().Trim();
        return text.StartsWith("{{", StringComparison.Ordinal)
            && text.EndsWith("}}", StringComparison.Ordinal)
            && text.Length >= 4
            && text[2..^2].Trim().SequenceEqual("default");
    }

    /// <summary>A frame as grouping and the culprit see it: "Namespace.Type.Method", names normalized.</summary>
    internal static string FrameKey(FrameRecord frame)
    {
        var (type, function) = DotNetNames.Normalize(frame.Type, frame.Function);
        if (!string.IsNullOrEmpty(type))
        {
            return $"{type}.{function}";
        }

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

    /// <summary>"ShortType: first line of the message" of the outermost exception, or the message's first line; at most 200 characters.</summary>
    internal static string Title(IncomingEvent errorEvent)
    {
        string title;
        if (errorEvent.Exceptions.Count == 0)
        {
            title = FirstLine(errorEvent.Message ?? "");
            if (title.Length == 0)
            {
                title = "(no message)";
            }
        }
        else
        {
            var outermost = errorEvent.Exceptions[0];
            var shortType = ShortTypeName(outermost.Type);
            var line = FirstLine(outermost.Value);
            title = line.Length == 0 ? shortType : $"{shortType}: {line}";
        }

        return Cut(title, MaxTitleChars);
    }

    /// <summary>The first in-app frame (nearest the throw, outermost exception first); else the first frame; else the logger.</summary>
    internal static string Culprit(IncomingEvent errorEvent)
    {
        foreach (var exception in errorEvent.Exceptions)
        {
            foreach (var frame in exception.Frames)
            {
                if (frame.InApp)
                {
                    return FrameKey(frame);
                }
            }
        }

        var anyFrame = errorEvent.Exceptions.SelectMany(e => e.Frames).FirstOrDefault();
        return anyFrame is not null ? FrameKey(anyFrame) : errorEvent.Logger ?? "";
    }

    /// <summary>"System.Collections.Generic.KeyNotFoundException" → "KeyNotFoundException"; nested and generic types too.</summary>
    internal static string ShortTypeName(string typeName)
    {
        var normalized = DotNetNames.NormalizeTypeName(typeName).TrimEnd('.');
        var shortName = normalized[(normalized.LastIndexOf('.') + 1)..];
        return shortName.Length > 0 ? shortName : typeName.Trim();
    }

    /// <summary>
    /// SHA-256 of the components, each preceded by its length so that no two different lists hash the
    /// same bytes (["a\nb"] and ["a", "b"] must not collide); the first 16 bytes as 32 hex digits.
    /// </summary>
    internal static string Hash(List<string> components)
    {
        var text = new StringBuilder();
        foreach (var component in components)
        {
            text.Append(Encoding.UTF8.GetByteCount(component)).Append(':').Append(component).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 16));
    }

    private static string FirstLine(string text)
    {
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            var trimmed = line.Trim();
            if (!trimmed.IsEmpty)
            {
                return trimmed.ToString();
            }
        }

        return "";
    }

    private static string Cut(string text, int maxChars)
    {
        if (text.Length <= maxChars)
        {
            return text;
        }

        var keep = maxChars - 1;
        if (char.IsHighSurrogate(text[keep - 1]))
        {
            keep--;
        }

        return string.Concat(text.AsSpan(0, keep).TrimEnd(), "…");
    }

    [GeneratedRegex(@"[\w.+-]+@[\w-]+(\.[\w-]+)+", RegexOptions.CultureInvariant)]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'""<>]+", RegexOptions.CultureInvariant)]
    private static partial Regex UrlPattern();

    [GeneratedRegex(@"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b", RegexOptions.CultureInvariant)]
    private static partial Regex GuidPattern();

    /// <summary>Full IPv6 addresses (eight groups) and compressed ones (with "::").</summary>
    [GeneratedRegex(@"(?<![\w:.])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?)(?![\w:.])", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv6Pattern();

    [GeneratedRegex(@"(?<![\w.])\d{1,3}(\.\d{1,3}){3}(?![\w.])", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv4Pattern();

    [GeneratedRegex(@"\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", RegexOptions.CultureInvariant)]
    private static partial Regex HexPattern();

    /// <summary>A number not inside a word; a unit right after it stays ("30000ms" → "&lt;int&gt;ms").</summary>
    [GeneratedRegex(@"(?<!\w)-?\d+(\.\d+)?(?=[A-Za-z]{0,3}(?!\w))", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();

    /// <summary>A quoted value, not an apostrophe inside a word ("can't", "Ada's").</summary>
    [GeneratedRegex(@"(?<!\w)'[^'\r\n]{0,200}'(?!\w)", RegexOptions.CultureInvariant)]
    private static partial Regex SingleQuotedPattern();

    [GeneratedRegex(@"(?<!\w)""[^""\r\n]{0,200}""(?!\w)", RegexOptions.CultureInvariant)]
    private static partial Regex DoubleQuotedPattern();
}

/// <summary>Which issue an event belongs to, and how that issue is titled: the grouping step's result.</summary>
/// <param name="Fingerprint">32 hex digits; equal fingerprints are one issue.</param>
/// <param name="Version">The version of the rules that made it (<see cref="Grouper.Version"/>).</param>
internal sealed record EventGrouping(string Fingerprint, int Version, string Title, string Culprit);
