using System.Globalization;

namespace ErrorHub.Dashboard.Formatting;

/// <summary>"3 minutes ago" for people scanning a list, the exact UTC time for people comparing logs.</summary>
internal static class RelativeTime
{
    public static string Describe(DateTimeOffset value, DateTimeOffset now)
    {
        var elapsed = now - value;

        // Clocks of the reporting machines drift; a timestamp slightly in the future is "now".
        if (elapsed < TimeSpan.FromSeconds(45))
        {
            return "just now";
        }

        if (elapsed < TimeSpan.FromSeconds(90))
        {
            return "a minute ago";
        }

        if (elapsed < TimeSpan.FromMinutes(45))
        {
            return Plural((int)Math.Round(elapsed.TotalMinutes), "minute");
        }

        if (elapsed < TimeSpan.FromMinutes(90))
        {
            return "an hour ago";
        }

        if (elapsed < TimeSpan.FromHours(22))
        {
            return Plural((int)Math.Round(elapsed.TotalHours), "hour");
        }

        if (elapsed < TimeSpan.FromHours(36))
        {
            return "a day ago";
        }

        if (elapsed < TimeSpan.FromDays(26))
        {
            return Plural((int)Math.Round(elapsed.TotalDays), "day");
        }

        if (elapsed < TimeSpan.FromDays(45))
        {
            return "a month ago";
        }

        if (elapsed < TimeSpan.FromDays(320))
        {
            // 45 days is under one and a half average months: rounding alone would say "1 months ago".
            return Plural(Math.Max(2, (int)Math.Round(elapsed.TotalDays / 30.44)), "month");
        }

        if (elapsed < TimeSpan.FromDays(548))
        {
            return "a year ago";
        }

        return Plural((int)Math.Round(elapsed.TotalDays / 365.25), "year");
    }

    /// <summary>
    /// "in 7 days" for a deadline (an invitation's expiry): <see cref="Describe"/> reads every future time as "just now",
    /// right for a reporting machine's clock that runs ahead, wrong for a time that is meant to lie ahead. A deadline
    /// already passed reads as <see cref="Describe"/> says ("3 minutes ago").
    /// </summary>
    public static string DescribeAhead(DateTimeOffset value, DateTimeOffset now)
    {
        var ahead = value - now;
        if (ahead <= TimeSpan.Zero)
        {
            return Describe(value, now);
        }

        // The same words and thresholds as for the past, mirrored: "2 days ago" becomes "in 2 days".
        var mirrored = Describe(now - ahead, now);
        return mirrored == "just now" ? "in under a minute" : "in " + mirrored[..^" ago".Length];
    }

    public static string ExactUtc(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string MachineReadable(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Plural(int count, string unit) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {unit}s ago");
}
