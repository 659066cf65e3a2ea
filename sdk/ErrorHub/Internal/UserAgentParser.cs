namespace ErrorHub.Internal;

/// <summary>
/// Browser and operating system from a User-Agent header, for the tags "browser" and "client_os". No parser package
/// is at hand, and a full one is not needed: the families people filter issues by, with their major versions, in
/// the order that tells apart browsers whose headers name each other (Edge and Opera say "Chrome", Chrome says "Safari").
/// Plain substring searches over at most the first 512 characters, no regular expressions: the time is linear in
/// the header whatever a client sends, so there is no timeout to hit on a busy machine and no backtracking to exploit.
/// </summary>
internal static class UserAgentParser
{
    private const int MaxLength = 512;

    /// <summary>Browser families, most specific first, each with the tokens that carry its version.</summary>
    private static readonly (string Name, string[] Tokens)[] Browsers =
    [
        ("Edge", ["Edg/", "Edge/", "EdgA/", "EdgiOS/"]),
        ("Opera", ["OPR/", "Opera/"]),
        ("Samsung Internet", ["SamsungBrowser/"]),
        ("Firefox", ["Firefox/", "FxiOS/"]),
        ("Chrome", ["Chrome/", "CriOS/"]),
    ];

    public static (string? Browser, string? OperatingSystem) Parse(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return (null, null);
        }

        var text = userAgent.AsSpan(0, Math.Min(userAgent.Length, MaxLength));
        return (Browser(text), OperatingSystem(text));
    }

    private static string? Browser(ReadOnlySpan<char> text)
    {
        foreach (var (name, tokens) in Browsers)
        {
            foreach (var token in tokens)
            {
                if (NumberAfter(text, token, parts: 1) is { } major)
                {
                    return $"{name} {major}";
                }
            }
        }

        // Safari names its version in "Version/17.2" and must also say "Safari/" after it.
        var version = text.IndexOf("Version/", StringComparison.Ordinal);
        if (version >= 0 && NumberAfter(text, "Version/", parts: 2) is { } safari
            && text[(version + "Version/".Length)..].Contains("Safari/", StringComparison.Ordinal))
        {
            return $"Safari {safari}";
        }

        return text.StartsWith("curl/", StringComparison.Ordinal) && NumberAfter(text, "curl/", parts: 2, requireAll: true) is { } curl
            ? $"curl {curl}"
            : null;
    }

    private static string? OperatingSystem(ReadOnlySpan<char> text)
    {
        if (NumberAfter(text, "Windows NT ", parts: 2, requireAll: true) is { } windows)
        {
            return windows switch
            {
                "10.0" => "Windows 10",
                "6.3" => "Windows 8.1",
                "6.2" => "Windows 8",
                "6.1" => "Windows 7",
                var other => $"Windows NT {other}",
            };
        }

        if ((NumberAfter(text, "iPhone OS ", parts: 2, separator: '_') ?? NumberAfter(text, "CPU OS ", parts: 2, separator: '_')) is { } ios)
        {
            return $"iOS {ios.Replace('_', '.')}";
        }

        if (NumberAfter(text, "Mac OS X ", parts: 3, separator: '_', alsoDot: true) is { } mac)
        {
            return $"macOS {mac.Replace('_', '.')}";
        }

        if (NumberAfter(text, "Android ", parts: 1) is { } android)
        {
            return $"Android {android}";
        }

        if (text.Contains("CrOS", StringComparison.Ordinal))
        {
            return "ChromeOS";
        }

        return text.Contains("Linux", StringComparison.Ordinal) ? "Linux" : null;
    }

    /// <summary>
    /// The version right after the first occurrence of <paramref name="token"/> that is followed by a digit: up to
    /// <paramref name="parts"/> groups of digits joined by <paramref name="separator"/> (or '.' too, with
    /// <paramref name="alsoDot"/>). With <paramref name="requireAll"/> every part must be there. Null when none.
    /// </summary>
    private static string? NumberAfter(
        ReadOnlySpan<char> text, string token, int parts, char separator = '.', bool alsoDot = false, bool requireAll = false)
    {
        var searched = 0;
        while (searched < text.Length)
        {
            var found = text[searched..].IndexOf(token, StringComparison.Ordinal);
            if (found < 0)
            {
                return null;
            }

            var start = searched + found + token.Length;
            if (ReadNumber(text[start..], parts, separator, alsoDot, requireAll) is { } number)
            {
                return number;
            }

            searched = start;
        }

        return null;
    }

    private static string? ReadNumber(ReadOnlySpan<char> text, int parts, char separator, bool alsoDot, bool requireAll)
    {
        var end = 0;
        for (var part = 0; part < parts; part++)
        {
            if (part > 0)
            {
                if (end + 1 >= text.Length || !(text[end] == separator || (alsoDot && text[end] == '.')) || !char.IsAsciiDigit(text[end + 1]))
                {
                    return requireAll ? null : text[..end].ToString();
                }

                end++; // the separator
            }

            var digits = end;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end == digits)
            {
                return null; // only the first part can be empty: later ones were checked to start with a digit
            }
        }

        return text[..end].ToString();
    }
}
