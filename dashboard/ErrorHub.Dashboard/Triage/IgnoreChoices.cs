using System.Globalization;

namespace ErrorHub.Dashboard.Triage;

/// <summary>How long an ignore lasts: until a time, until N more events or users, or for good (all null).</summary>
internal readonly record struct IgnoreCondition(TimeSpan? Duration, long? Events, long? Users);

/// <summary>
/// The ignores the dashboard offers, the same list on the issue page and in bulk on the issue list (until December 2026
/// the list's bulk Ignore could only ignore for good).
/// </summary>
internal static class IgnoreChoices
{
    public static readonly IReadOnlyList<(string Value, string Label)> All =
    [
        ("forever", "Forever"),
        ("1h", "For an hour"),
        ("24h", "For 24 hours"),
        ("7d", "For a week"),
        ("events:10", "Until 10 more events"),
        ("events:100", "Until 100 more events"),
        ("events:1000", "Until 1,000 more events"),
        ("users:10", "Until 10 more users"),
        ("users:100", "Until 100 more users"),
    ];

    /// <summary>The condition a choice of <see cref="All"/> stands for; false for anything else (nothing chosen, a tampered value).</summary>
    public static bool TryParse(string? choice, out IgnoreCondition condition)
    {
        condition = default;
        if (choice is null || !All.Any(known => known.Value == choice))
        {
            return false;
        }

        condition = choice switch
        {
            "1h" => new IgnoreCondition(TimeSpan.FromHours(1), null, null),
            "24h" => new IgnoreCondition(TimeSpan.FromDays(1), null, null),
            "7d" => new IgnoreCondition(TimeSpan.FromDays(7), null, null),
            _ when choice.StartsWith("events:", StringComparison.Ordinal) => new IgnoreCondition(null, long.Parse(choice.AsSpan(7), CultureInfo.InvariantCulture), null),
            _ when choice.StartsWith("users:", StringComparison.Ordinal) => new IgnoreCondition(null, null, long.Parse(choice.AsSpan(6), CultureInfo.InvariantCulture)),
            _ => new IgnoreCondition(null, null, null),
        };
        return true;
    }
}
