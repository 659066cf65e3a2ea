namespace ErrorHub.Storage;

/// <summary>
/// Checks the arguments of <see cref="IIssueActivity"/> once for every store, and truncates window
/// bounds to whole minutes: ClickHouse counts per minute, so SQLite counts the same windows.
/// </summary>
internal static class ActivityWindow
{
    public const int MaxLimit = 10_000;

    public static long MinuteSeconds(DateTimeOffset time)
    {
        var seconds = time.ToUnixTimeSeconds();
        return seconds - (((seconds % 60) + 60) % 60);
    }

    public static void Validate(ActivityQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(query.Filter);
        CheckLimit(query.Limit);
        ArgumentOutOfRangeException.ThrowIfNegative(query.MinEvents, nameof(query.MinEvents));
        ArgumentOutOfRangeException.ThrowIfNegative(query.MinUsers, nameof(query.MinUsers));
        if (!Enum.IsDefined(query.Sort))
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Sort, "Unknown activity sort.");
        }
    }

    public static void CheckLimit(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxLimit);
    }
}
