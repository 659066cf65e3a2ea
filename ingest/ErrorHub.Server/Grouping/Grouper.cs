using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ErrorHub.Protocol;
using ErrorHub.Server.Events;

namespace ErrorHub.Server.Grouping;

/// <summary>
/// Decides which issue an event belongs to (its fingerprint) and how the issue is titled. The rules
/// are versioned and explained in docs/grouping.md; every event records the version that grouped it,
/// so a future version can change the rules without silently merging or splitting old issues.
/// </summary>
internal static partial class Grouper
{
    public const int Version = 1;

    private const string DefaultPlaceholder = "{{ default }}";

    public static ErrorEvent Group(ErrorEvent errorEvent, IReadOnlyList<string>? clientFingerprint)
    {
        var components = clientFingerprint is { Count: > 0 }
            ? ClientComponents(errorEvent, clientFingerprint)
            : DefaultComponents(errorEvent);
        return errorEvent with
        {
            Fingerprint = Hash(components),
            GroupingVersion = Version,
            Title = Title(errorEvent),
            Culprit = Culprit(errorEvent),
        };
    }

    /// <summary>
    /// v1: for each exception of the chain, its type followed by its in-app frames as "Type.Method"
    /// (names normalized, no line numbers or offsets, which change with every build). Without any
    /// in-app frame: the outermost exception's type and its message with variable parts replaced.
    /// Without an exception: the logger and the parameterized message.
    /// </summary>
    internal static List<string> DefaultComponents(ErrorEvent errorEvent)
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
            components.Add("type:" + exception.Type);
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
            components.Add("type:" + outermost.Type);
            components.Add("message:" + Parameterize(outermost.Value));
        }

        return components;
    }

    private static List<string> ClientComponents(ErrorEvent errorEvent, IReadOnlyList<string> clientFingerprint)
    {
        var components = new List<string> { "custom" };
        foreach (var part in clientFingerprint)
        {
            if (part == DefaultPlaceholder)
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

    internal static string FrameKey(FrameRecord frame)
    {
        var (type, function) = DotNetNames.Normalize(frame.Type, frame.Function);
        return string.IsNullOrEmpty(type) ? function : $"{type}.{function}";
    }

    /// <summary>Replaces the parts of a message that differ between occurrences of the same problem.</summary>
    internal static string Parameterize(string message)
    {
        var text = message.Length > 1024 ? message[..1024] : message;
        text = EmailPattern().Replace(text, "<email>");
        text = UrlPattern().Replace(text, "<url>");
        text = GuidPattern().Replace(text, "<guid>");
        text = HexPattern().Replace(text, "<hex>");
        text = IpPattern().Replace(text, "<ip>");
        text = NumberPattern().Replace(text, "<int>");
        text = QuotedPattern().Replace(text, "'<value>'");
        return text;
    }

    private static string Hash(List<string> components)
    {
        var bytes = Encoding.UTF8.GetBytes(string.Join('\n', components));
        return Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 16));
    }

    private static string Title(ErrorEvent errorEvent)
    {
        if (errorEvent.Exceptions.Count == 0)
        {
            return FirstLine(errorEvent.Message ?? "(no message)", 200);
        }

        var outermost = errorEvent.Exceptions[0];
        var shortType = outermost.Type[(outermost.Type.LastIndexOf('.') + 1)..];
        var value = FirstLine(outermost.Value, 200);
        return value.Length == 0 ? shortType : $"{shortType}: {value}";
    }

    private static string Culprit(ErrorEvent errorEvent)
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

    private static string FirstLine(string text, int maxChars)
    {
        var newline = text.AsSpan().IndexOfAny('\r', '\n');
        var line = (newline >= 0 ? text[..newline] : text).Trim();
        return line.Length <= maxChars ? line : line[..maxChars] + "…";
    }

    [GeneratedRegex(@"[\w.+-]+@[\w-]+(\.[\w-]+)+")]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'""]+")]
    private static partial Regex UrlPattern();

    [GeneratedRegex(@"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b")]
    private static partial Regex GuidPattern();

    [GeneratedRegex(@"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")]
    private static partial Regex HexPattern();

    [GeneratedRegex(@"\b\d{1,3}(\.\d{1,3}){3}\b")]
    private static partial Regex IpPattern();

    [GeneratedRegex(@"(?<![\w])-?\d+(\.\d+)?(?![\w])")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"'[^']{0,200}'")]
    private static partial Regex QuotedPattern();
}
