namespace ErrorHub.Storage;

/// <summary>
/// Checks the arguments of <see cref="IIssueActivity"/> once for every store, and truncates window
/// bounds to whole minutes: ClickHouse counts per minute, so SQLite counts the same windows.
/// </summary>
internal static class ActivityWindow
{
    public const int MaxLimit = 10_000;

    /// <summary>The most hours <see cref="IIssueActivity.GetEventsPerHourAsync"/> counts at once.</summary>
    public const int MaxCountedHours = 48;

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

    /// <summary>How many hours <see cref="IIssueActivity.GetEventsPerHourAsync"/> answers for, the last one possibly cut short.</summary>
    public static int Hours(DateTimeOffset from, DateTimeOffset to)
    {
        if (from.ToUnixTimeSeconds() % 3600 != 0 || from.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentException("The hours start at a whole hour.", nameof(from));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(to, from);
        var hours = (int)Math.Ceiling((to - from).TotalHours);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hours, MaxCountedHours, nameof(to));
        return hours;
    }

    public static void CheckLimit(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxLimit);
    }
}
