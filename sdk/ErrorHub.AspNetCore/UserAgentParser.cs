using System.Text.RegularExpressions;

namespace ErrorHub.AspNetCore;

/// <summary>
/// Browser and operating system from a User-Agent header, for the tags "browser" and "client_os". No parser package
/// is at hand, and a full one is not needed: the families people filter issues by, with their major versions, in
/// the order that tells apart browsers whose headers name each other (Edge and Opera say "Chrome", Chrome says "Safari").
/// </summary>
internal static partial class UserAgentParser
{
    private const int MaxLength = 512;

    public static (string? Browser, string? OperatingSystem) Parse(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return (null, null);
        }

        var text = userAgent.Length <= MaxLength ? userAgent : userAgent[..MaxLength];
        try
        {
            return (Browser(text), OperatingSystem(text));
        }
        catch (RegexMatchTimeoutException)
        {
            return (null, null); // a hostile header is not worth more than a few milliseconds
        }
    }

    private static string? Browser(string text)
    {
        (string Name, Regex Pattern)[] browsers =
        [
            ("Edge", EdgeVersion()),
            ("Opera", OperaVersion()),
            ("Samsung Internet", SamsungVersion()),
            ("Firefox", FirefoxVersion()),
            ("Chrome", ChromeVersion()),
            ("Safari", SafariVersion()),
            ("curl", CurlVersion()),
        ];
        foreach (var (name, pattern) in browsers)
        {
            var match = pattern.Match(text);
            if (match.Success)
            {
                return $"{name} {match.Groups[1].Value}";
            }
        }

        return null;
    }

    private static string? OperatingSystem(string text)
    {
        if (WindowsVersion().Match(text) is { Success: true } windows)
        {
            return windows.Groups[1].Value switch
            {
                "10.0" => "Windows 10",
                "6.3" => "Windows 8.1",
                "6.2" => "Windows 8",
                "6.1" => "Windows 7",
                var other => $"Windows NT {other}",
            };
        }

        if (IosVersion().Match(text) is { Success: true } ios)
        {
            return $"iOS {ios.Groups[1].Value.Replace('_', '.')}";
        }

        if (MacVersion().Match(text) is { Success: true } mac)
        {
            return $"macOS {mac.Groups[1].Value.Replace('_', '.')}";
        }

        if (AndroidVersion().Match(text) is { Success: true } android)
        {
            return $"Android {android.Groups[1].Value}";
        }

        if (text.Contains("CrOS", StringComparison.Ordinal))
        {
            return "ChromeOS";
        }

        return text.Contains("Linux", StringComparison.Ordinal) ? "Linux" : null;
    }

    [GeneratedRegex(@"Edg(?:e|A|iOS)?/(\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex EdgeVersion();

    [GeneratedRegex(@"(?:OPR|Opera)/(\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex OperaVersion();

    [GeneratedRegex(@"SamsungBrowser/(\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex SamsungVersion();

    [GeneratedRegex(@"(?:Firefox|FxiOS)/(\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex FirefoxVersion();

    [GeneratedRegex(@"(?:Chrome|CriOS)/(\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex ChromeVersion();

    [GeneratedRegex(@"Version/(\d+(?:\.\d+)?).*Safari/", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex SafariVersion();

    [GeneratedRegex(@"^curl/(\d+\.\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex CurlVersion();

    [GeneratedRegex(@"Windows NT (\d+\.\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex WindowsVersion();

    [GeneratedRegex(@"(?:iPhone|CPU) OS (\d+(?:_\d+)?)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex IosVersion();

    [GeneratedRegex(@"Mac OS X (\d+(?:[_.]\d+){0,2})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex MacVersion();

    [GeneratedRegex(@"Android (\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex AndroidVersion();
}
