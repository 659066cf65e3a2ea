using System.Diagnostics;
using System.Globalization;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// What the machine looks like at one moment, for telling a run slowed by what an earlier run left behind from one
/// slowed by the machine itself: pages still to be written back (a previous run's ClickHouse parts and journal), the
/// <c>clickhouse-server</c> processes alive (a previous server still shutting down, or another user's), the load
/// average, the CPU and I/O pressure, and how fast one thread runs a fixed loop (a host giving the VM less CPU shows
/// there, not in any process's CPU time).
/// </summary>
internal sealed record MachineState(long DirtyKilobytes, long WritebackKilobytes, int ClickHouseServers, string LoadAverage, string CpuPressure, string IoPressure, double LoopNanoseconds)
{
    private const int LoopSteps = 20_000_000;

    public string Text => string.Create(CultureInfo.InvariantCulture,
        $"dirty {DirtyKilobytes / 1024.0:N0} MB, writeback {WritebackKilobytes / 1024.0:N0} MB; clickhouse-server processes alive: {ClickHouseServers}; " +
        $"load average {LoadAverage}; pressure avg10 CPU {CpuPressure} %, I/O {IoPressure} %; one thread's fixed loop: {LoopNanoseconds:N2} ns a step (fastest of 5)");

    public static MachineState Read()
    {
        var meminfo = File.Exists("/proc/meminfo") ? File.ReadAllLines("/proc/meminfo") : [];
        long Kilobytes(string name) => meminfo.FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal)) is { } line
            ? long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)
            : -1;

        return new MachineState(
            Kilobytes("Dirty"),
            Kilobytes("Writeback"),
            CountProcesses("clickhouse-serv"),
            File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?",
            SomeAvg10("/proc/pressure/cpu"),
            SomeAvg10("/proc/pressure/io"),
            FixedLoop());
    }

    /// <summary>Processes whose command name (<c>/proc/PID/comm</c>, cut at 15 characters) starts so.</summary>
    private static int CountProcesses(string commandPrefix)
    {
        var count = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out _))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(directory, "comm")).StartsWith(commandPrefix, StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return count;
    }

    private static string SomeAvg10(string path)
    {
        if (!File.Exists(path))
        {
            return "?";
        }

        var some = File.ReadAllLines(path).FirstOrDefault(l => l.StartsWith("some", StringComparison.Ordinal)) ?? "";
        return some.Split(' ').FirstOrDefault(f => f.StartsWith("avg10=", StringComparison.Ordinal))?["avg10=".Length..] ?? "?";
    }

    /// <summary>Nanoseconds per step of a dependent integer loop, the fastest of five: the same work on every run of every build.</summary>
    private static double FixedLoop()
    {
        var best = double.MaxValue;
        var state = 0x9E3779B97F4A7C15UL;
        for (var round = 0; round < 5; round++)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < LoopSteps; i++)
            {
                // xorshift64: each step depends on the last, so neither the JIT nor the CPU can skip or overlap them.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
            }

            best = Math.Min(best, clock.Elapsed.TotalNanoseconds / LoopSteps);
        }

        // Used, so the loop is not removed.
        return state == 0 ? -best : best;
    }
}
