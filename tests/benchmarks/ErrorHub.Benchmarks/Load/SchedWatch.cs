using System.Globalization;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// Time spent waiting for a CPU during one phase: by process (the server, ClickHouse, this load generator), the sum over
/// its threads of the kernel's run-queue delay (<c>/proc/PID/task/TID/schedstat</c>, second field), and the machine's CPU
/// pressure (<c>/proc/pressure/cpu</c>, "some": the share of time at least one task waited). On a 2-core machine running all
/// three, it says whose requests waited for a core rather than for ingest's code. Threads that end during the phase take
/// their share with them; threads started during it bring all theirs (both are few here: pools live for the run).
/// </summary>
internal sealed class SchedWatch
{
    private readonly (string Name, int Pid)[] _processes;
    private readonly Dictionary<int, (double Run, double Wait)> _start;
    private readonly double _pressureStart;

    private SchedWatch((string Name, int Pid)[] processes)
    {
        _processes = processes;
        _start = processes.ToDictionary(p => p.Pid, p => Read(p.Pid));
        _pressureStart = PressureSomeMicroseconds();
    }

    public static SchedWatch Start(params (string Name, int Pid)[] processes) => new(processes);

    /// <summary>Per process: milliseconds waited for a CPU per second of the phase (and run on one), then the pressure's share.</summary>
    public string Stop(TimeSpan elapsed)
    {
        var wall = Math.Max(elapsed.TotalSeconds, 0.001);
        var parts = _processes.Select(p =>
        {
            var (run, wait) = Read(p.Pid);
            var (run0, wait0) = _start[p.Pid];
            return string.Create(CultureInfo.InvariantCulture, $"{p.Name} waited {(wait - wait0) / 1e6 / wall:N0} ms/s (ran {(run - run0) / 1e6 / wall:N0} ms/s)");
        });
        var pressure = PressureSomeMicroseconds();
        return string.Join("; ", parts) + (double.IsNaN(pressure)
            ? ""
            : string.Create(CultureInfo.InvariantCulture, $"; CPU pressure (some task waiting): {100 * (pressure - _pressureStart) / 1e6 / wall:N0} % of the phase"));
    }

    /// <summary>Nanoseconds on a CPU and waiting in its run queue, summed over the process's threads alive now.</summary>
    private static (double Run, double Wait) Read(int pid)
    {
        double run = 0, wait = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var fields = File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ');
                    run += double.Parse(fields[0], CultureInfo.InvariantCulture);
                    wait += double.Parse(fields[1], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // the thread ended while being read
                }
            }
        }
        catch (IOException)
        {
        }

        return (run, wait);
    }

    private static double PressureSomeMicroseconds()
    {
        try
        {
            var some = File.ReadAllLines("/proc/pressure/cpu").First(l => l.StartsWith("some ", StringComparison.Ordinal));
            var total = some.Split(' ').First(f => f.StartsWith("total=", StringComparison.Ordinal));
            return double.Parse(total["total=".Length..], CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return double.NaN;
        }
    }
}
