using System.Globalization;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// A process's CPU time and minor page faults over one phase, split by thread name (<c>/proc/PID/task/TID/stat</c>): for
/// ClickHouse, its background pool's threads (merges) apart from the threads that run statements and those that flush its
/// logs, which <c>system.query_log</c> cannot tell (a merge is no statement). Threads that ended during the phase are not in
/// any task directory at its end: their share is what the process's own total has beyond the threads still alive.
/// </summary>
internal sealed class ThreadCpu
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    private readonly int _pid;
    private readonly Dictionary<int, Counters> _threadsAtStart;
    private readonly Counters _processAtStart;

    private ThreadCpu(int pid)
    {
        _pid = pid;
        _threadsAtStart = ReadThreads(pid);
        _processAtStart = ReadStat($"/proc/{pid}/stat") ?? default;
    }

    public static ThreadCpu Start(int pid) => new(pid);

    /// <summary>What each thread name spent since the start, largest first, and "threads that ended" for the rest of the process's total.</summary>
    public List<(string Name, int Threads, double UserSeconds, double SystemSeconds, long MinorFaults)> Stop()
    {
        var now = ReadThreads(_pid);
        var process = ReadStat($"/proc/{_pid}/stat") ?? _processAtStart;
        var byName = new Dictionary<string, (int Threads, long User, long System, long Faults)>();
        foreach (var (tid, end) in now)
        {
            var start = _threadsAtStart.TryGetValue(tid, out var s) ? s : new Counters(end.Name, 0, 0, 0);
            var delta = (User: end.User - start.User, System: end.System - start.System, Faults: end.MinorFaults - start.MinorFaults);
            if (delta.User + delta.System + delta.Faults == 0)
            {
                continue;
            }

            var sum = byName.GetValueOrDefault(end.Name);
            byName[end.Name] = (sum.Threads + 1, sum.User + delta.User, sum.System + delta.System, sum.Faults + delta.Faults);
        }

        var result = byName
            .Select(n => (n.Key, n.Value.Threads, n.Value.User / TicksPerSecond, n.Value.System / TicksPerSecond, n.Value.Faults))
            .OrderByDescending(n => n.Item3 + n.Item4)
            .ToList();
        var ended = (User: process.User - _processAtStart.User - byName.Values.Sum(v => v.User),
            System: process.System - _processAtStart.System - byName.Values.Sum(v => v.System),
            Faults: process.MinorFaults - _processAtStart.MinorFaults - byName.Values.Sum(v => v.Faults));
        result.Add(("(threads that ended)", 0, Math.Max(ended.User, 0) / TicksPerSecond, Math.Max(ended.System, 0) / TicksPerSecond, Math.Max(ended.Faults, 0)));
        return result;
    }

    /// <summary>The process's minor page faults, user and system seconds since the start.</summary>
    public (long MinorFaults, double UserSeconds, double SystemSeconds) ProcessTotals()
    {
        var process = ReadStat($"/proc/{_pid}/stat") ?? _processAtStart;
        return (process.MinorFaults - _processAtStart.MinorFaults, (process.User - _processAtStart.User) / TicksPerSecond, (process.System - _processAtStart.System) / TicksPerSecond);
    }

    private static Dictionary<int, Counters> ReadThreads(int pid)
    {
        var threads = new Dictionary<int, Counters>();
        try
        {
            foreach (var directory in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var tid) && ReadStat(Path.Combine(directory, "stat")) is { } counters)
                {
                    threads[tid] = counters;
                }
            }
        }
        catch (IOException)
        {
            // The process is gone: nothing to split.
        }

        return threads;
    }

    /// <summary>Name (field 2), minflt (10), utime (14), stime (15) of a <c>stat</c> file; null if it vanished meanwhile.</summary>
    private static Counters? ReadStat(string path)
    {
        try
        {
            var stat = File.ReadAllText(path);
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            var fields = stat[(close + 2)..].Split(' ');
            return new Counters(
                stat[(open + 1)..close],
                long.Parse(fields[11], CultureInfo.InvariantCulture),
                long.Parse(fields[12], CultureInfo.InvariantCulture),
                long.Parse(fields[7], CultureInfo.InvariantCulture));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private readonly record struct Counters(string Name, long User, long System, long MinorFaults);
}
