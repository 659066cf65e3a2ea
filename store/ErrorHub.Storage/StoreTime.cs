namespace ErrorHub.Storage;

/// <summary>
/// Issue and project times have whole-second precision in every store (ClickHouse's DateTime is
/// seconds), so the dashboard sees the same values whichever store is configured.
/// </summary>
internal static class StoreTime
{
    public static DateTimeOffset ToWholeSeconds(long unixMilliseconds) =>
        DateTimeOffset.FromUnixTimeSeconds(Math.DivRem(unixMilliseconds, 1000, out var remainder) - (remainder < 0 ? 1 : 0));

    public static DateTimeOffset FromUnixSeconds(long unixSeconds) => DateTimeOffset.FromUnixTimeSeconds(unixSeconds);

    /// <summary>
    /// The first whole second at or after <paramref name="time"/>: a whole-second time is at or after <paramref name="time"/>
    /// exactly when it is at or after this one, and before it exactly when before this one.
    /// </summary>
    public static long ToUnixSecondsCeiling(DateTimeOffset time)
    {
        var seconds = time.ToUnixTimeSeconds();
        return DateTimeOffset.FromUnixTimeSeconds(seconds) < time ? seconds + 1 : seconds;
    }

    /// <summary>The start of the UTC hour <paramref name="time"/> falls in.</summary>
    public static DateTimeOffset StartOfHour(DateTimeOffset time)
    {
        var seconds = time.ToUnixTimeSeconds();
        return DateTimeOffset.FromUnixTimeSeconds(seconds - (((seconds % 3600) + 3600) % 3600));
    }
}
