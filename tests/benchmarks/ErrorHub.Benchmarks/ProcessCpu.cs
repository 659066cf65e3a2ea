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
    private const int ClockThreadCpuTime = 3;

    public static TimeSpan Now() => Read(ClockProcessCpuTime);

    /// <summary>The calling thread's CPU time alone: for synchronous steps, without the JIT's and the GC's other threads.</summary>
    public static TimeSpan ThreadNow() => Read(ClockThreadCpuTime);

    private static TimeSpan Read(int clock)
    {
        if (ClockGetTime(clock, out var time) != 0)
        {
            throw new InvalidOperationException("clock_gettime failed");
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
