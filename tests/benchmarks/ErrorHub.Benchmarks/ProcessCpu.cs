using System.Runtime.InteropServices;

namespace ErrorHub.Benchmarks;

/// <summary>
/// This process's CPU time (all threads, user + system) to the nanosecond, from <c>clock_gettime(CLOCK_PROCESS_CPUTIME_ID)</c>:
/// <c>Process.TotalProcessorTime</c> and <c>/proc/self/stat</c> count in 10 ms ticks, too coarse for a few percent of a
/// phase that lasts a fraction of a second.
/// </summary>
internal static class ProcessCpu
{
    private const int ClockProcessCpuTime = 2;

    public static TimeSpan Now()
    {
        if (ClockGetTime(ClockProcessCpuTime, out var time) != 0)
        {
            throw new InvalidOperationException("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
        }

        return TimeSpan.FromTicks((time.Seconds * TimeSpan.TicksPerSecond) + (time.Nanoseconds / 100));
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
