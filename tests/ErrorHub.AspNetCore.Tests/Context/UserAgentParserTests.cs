using ErrorHub.Internal;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Context;

/// <summary>The browser and OS tags, from User-Agent headers as real browsers and tools send them.</summary>
public sealed class UserAgentParserTests
{
    [Theory]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome 120", "Windows 10")]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Edge 120", "Windows 10")]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0", "Opera 106", "Windows 10")]
    [InlineData("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko", null, "Windows 7")]
    [InlineData("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121", "Linux")]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15", "Safari 17.2", "macOS 10.15.7")]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121", "macOS 10.15")]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", "Safari 17.2", "iOS 17.2")]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "Chrome 120", "iOS 17.2")]
    [InlineData("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/120.0 Mobile/15E148 Safari/605.1.15", "Firefox 120", "iOS 16.6")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", "Chrome 120", "Android 14")]
    [InlineData("Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Internet 23", "Android 13")]
    [InlineData("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome 120", "ChromeOS")]
    [InlineData("curl/8.4.0", "curl 8.4", null)]
    [InlineData("Go-http-client/1.1", null, null)]
    [InlineData("", null, null)]
    [InlineData("<script>alert(1)</script> Windows NT ' OR 1=1", null, null)]
    [InlineData("Chrome/ Chrome/x Chrome/87 Windows NT 10.", "Chrome 87", null)]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/17.2 Mobile/15E148", null, "macOS 10.15.7")]
    [InlineData("curl/8", null, null)]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 17 like Mac OS X) Version/17 Mobile Safari/604.1", "Safari 17", "iOS 17")]
    public void Parses_the_browser_family_with_its_major_version_and_the_operating_system(string userAgent, string? browser, string? os)
    {
        UserAgentParser.Parse(userAgent).Should().Be((browser, os));
    }

    [Fact]
    public void A_header_of_repeated_near_misses_is_read_once_through()
    {
        var nearMisses = string.Concat(Enumerable.Repeat("Edg/Version/1 Mac OS X 1_", 40));

        UserAgentParser.Parse(nearMisses).Should().Be((null, "macOS 1"), "no browser token is followed by a version, the first macOS one is");
    }

    [Fact]
    public void A_huge_or_hostile_header_is_answered_quickly_from_its_start_only()
    {
        var hostile = "Mozilla/5.0 (" + new string('(', 100_000) + " Chrome/99";

        UserAgentParser.Parse(hostile).Should().Be((null, null), "only the first 512 characters are looked at");
    }
}
