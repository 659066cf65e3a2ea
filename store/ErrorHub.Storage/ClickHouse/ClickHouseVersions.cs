namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Versions of ReplacingMergeTree rows written by notifications and issue states: UTC ticks, increasing
/// within this process even when the clock is not, so that a process's later write always wins.
/// </summary>
internal static class ClickHouseVersions
{
    private static long s_last;

    public static ulong Next()
    {
        while (true)
        {
            var last = Interlocked.Read(ref s_last);
            var next = Math.Max(last + 1, DateTime.UtcNow.Ticks);
            if (Interlocked.CompareExchange(ref s_last, next, last) == last)
            {
                return (ulong)next;
            }
        }
    }
}
