using System.Diagnostics;
using System.Globalization;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// CPU time used by the server process, ClickHouse's process and this load generator during one phase,
/// read from <c>/proc/PID/stat</c> (user + system clock ticks): on a 2-core machine where all three
/// share the cores, it says who spent them.
/// </summary>
internal sealed class CpuWatch
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    private readonly int _server;
    private readonly int? _clickHouse;
    private readonly double _serverStart;
    private readonly double _clickHouseStart;
    private readonly TimeSpan _selfStart;
    private readonly double _machineStart;

    public CpuWatch(int server, int? clickHouse)
    {
        _server = server;
        _clickHouse = clickHouse;
        _serverStart = Seconds(server);
        _clickHouseStart = clickHouse is { } id ? Seconds(id) : 0;
        _selfStart = Process.GetCurrentProcess().TotalProcessorTime;
        _machineStart = MachineBusySeconds();
    }

    /// <summary>
    /// Cores kept busy on average over <paramref name="elapsed"/>, by process; with <paramref name="events"/>, also the CPU time
    /// each accepted event cost the server and ClickHouse, which the machine's load does not change the way it changes rates.
    /// </summary>
    public string Stop(TimeSpan elapsed, long events = 0)
    {
        var wall = Math.Max(elapsed.TotalSeconds, 0.001);
        var serverSeconds = Seconds(_server) - _serverStart;
        var clickHouseSeconds = _clickHouse is { } id ? Seconds(id) - _clickHouseStart : 0;
        var self = (Process.GetCurrentProcess().TotalProcessorTime - _selfStart).TotalSeconds / wall;
        var text = string.Create(CultureInfo.InvariantCulture, $"server {serverSeconds / wall:F2}");
        if (_clickHouse is not null)
        {
            text += string.Create(CultureInfo.InvariantCulture, $", ClickHouse {clickHouseSeconds / wall:F2}");
        }

        text += string.Create(CultureInfo.InvariantCulture, $", load generator {self:F2}");

        // What the machine's CPUs did besides: other users' processes (another session's builds: with the kernel's autogroups a
        // niced process elsewhere still gets its session's full share) and the kernel's own threads.
        var others = (MachineBusySeconds() - _machineStart) / wall - (serverSeconds + clickHouseSeconds) / wall - self;
        text += string.Create(CultureInfo.InvariantCulture, $", everything else {Math.Max(others, 0):F2}");
        if (events > 0)
        {
            text += string.Create(CultureInfo.InvariantCulture, $"; per accepted event: server {serverSeconds * 1e6 / events:N0} µs");
            if (_clickHouse is not null)
            {
                text += string.Create(CultureInfo.InvariantCulture, $", ClickHouse {clickHouseSeconds * 1e6 / events:N0} µs");
            }
        }

        return text;
    }

    /// <summary>ClickHouse's CPU seconds since the start (0 without ClickHouse).</summary>
    public double ClickHouseSeconds => _clickHouse is { } id ? Seconds(id) - _clickHouseStart : 0;

    /// <summary>The server's CPU seconds since the start.</summary>
    public double ServerSeconds => Seconds(_server) - _serverStart;

    /// <summary>The server's CPU seconds since the start, per event (infinity for none).</summary>
    public double ServerSecondsPerEvent(long events) => events > 0 ? (Seconds(_server) - _serverStart) / events : double.PositiveInfinity;

    /// <summary>CPU seconds all CPUs spent busy so far (<c>/proc/stat</c>: everything but idle and I/O wait).</summary>
    internal static double MachineBusySeconds()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        return (fields.Take(8).Sum() - fields[3] - fields[4]) / TicksPerSecond; // guest time is counted in user time already
    }

    /// <summary>User + system CPU seconds a process has used so far (0 once it is gone).</summary>
    internal static double Seconds(int pid)
    {
        try
        {
            // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
