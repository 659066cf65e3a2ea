using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace ErrorHub.Benchmarks.Load;

/// <summary>One stream of a paced run: GET <see cref="Path"/> at <see cref="Rate"/> a second over its own keep-alive connections.</summary>
internal sealed record PacedStream(string Path, double Rate, int Connections);

/// <summary>
/// What one stream of a paced run got. Latencies are in microseconds from each request's <b>intended</b> start (its slot in
/// the fixed schedule), so a request that waited for its connection (the answer before it) or for its thread to wake is charged that wait: the
/// correction for coordinated omission (a closed-loop client such as wrk stops sending while the server stalls, and so
/// never times the requests a stall would have delayed). Service latency is from the moment its bytes were written.
/// A request not answered when the run ended counts as slower than every answered one.
/// </summary>
internal sealed record PacedResult(
    string Path, int Scheduled, int Completed, int Unexpected, double Seconds, double[] Latency, double ServiceP50, double ServiceP99,
    double PacerLagP99, double PacerLagMax, int WaitedForConnection)
{
    public double Rate => Completed / Seconds;

    public double Quantile(double q)
    {
        // Latency is sorted, unanswered requests last as +infinity.
        if (Latency.Length == 0)
        {
            return double.NaN;
        }

        return Latency[Math.Min(Latency.Length - 1, (int)Math.Ceiling(q * Latency.Length) - 1)];
    }
}

/// <summary>
/// An open-loop HTTP/1.1 load generator over loopback for issue 6 benchmark 4's fixed-rate form (docs/benchmarks.md,
/// section 84): requests start on a fixed schedule whatever the server's latency, unlike wrk's closed loops, whose rate is
/// whatever the server sustains. One thread, as in wrk2: it sends each slot that is due on a free keep-alive connection of
/// its stream (a plain GET), waits in <c>ppoll</c> for answers until the next slot is due (a nanosecond timeout with a
/// 10 µs timer slack, so the schedule holds to tens of microseconds), reads them (<c>Content-Length</c> or chunked) without
/// blocking; a slot with no free connection waits for one and is charged the wait. Raw non-blocking sockets on one thread
/// rather than <see cref="HttpClient"/>, asynchronous sockets or a thread per connection (measured at 50-100 µs of the
/// client's CPU per request, its thread hand-overs and wake-ups): the client shares its core with the storm's sink.
/// Only 127.0.0.1 is contacted; every run is bounded in time.
/// </summary>
internal static class PacedClient
{
    private const int PrSetTimerSlack = 29;
    private const short PollIn = 1;

    public static async Task<PacedResult[]> RunAsync(int port, IReadOnlyList<PacedStream> streams, double seconds)
    {
        var runs = streams.Select(s => new StreamRun(port, s, seconds)).ToList();
        try
        {
            var thread = new Thread(() => Run(runs)) { IsBackground = true, Name = "paced client" };
            thread.Start();
            await Task.Run(thread.Join);
            return [.. runs.Select(r => r.Result(seconds))];
        }
        finally
        {
            foreach (var run in runs)
            {
                run.Dispose();
            }
        }
    }

    private static void Run(List<StreamRun> runs)
    {
        _ = Prctl(PrSetTimerSlack, 10_000, 0, 0, 0); // 10 µs: the default 50 µs would bunch the slots
        var connections = runs.SelectMany(r => r.Connections).ToArray();
        var fds = new PollFd[connections.Length];
        var ready = new Connection[connections.Length];
        var start = Stopwatch.GetTimestamp();
        foreach (var run in runs)
        {
            run.Start(start);
        }

        // A stall longer than this after the last slot ends the run: what is still unanswered counts as such.
        var last = start + (long)(runs.Max(r => r.Seconds + 5) * Stopwatch.Frequency);
        while (true)
        {
            var now = Stopwatch.GetTimestamp();
            var next = long.MaxValue;
            var busy = false;
            foreach (var run in runs)
            {
                next = Math.Min(next, run.SendDue(now));
                busy |= run.Busy;
            }

            if ((next == long.MaxValue && !busy) || now > last)
            {
                return;
            }

            var count = 0;
            foreach (var connection in connections)
            {
                if (connection.Slot >= 0)
                {
                    fds[count] = new PollFd { Fd = connection.Fd, Events = PollIn };
                    ready[count++] = connection;
                }
            }

            var wait = Math.Max(0, Math.Min(next, now + (Stopwatch.Frequency / 10)) - Stopwatch.GetTimestamp()) * 1e9 / Stopwatch.Frequency;
            var timeout = new TimeSpec { Seconds = (long)(wait / 1e9), Nanoseconds = (long)(wait % 1e9) };
            if (Ppoll(fds, (ulong)count, ref timeout, IntPtr.Zero) > 0)
            {
                for (var i = 0; i < count; i++)
                {
                    if (fds[i].Returned != 0)
                    {
                        ready[i].Read();
                    }
                }
            }
        }
    }

    private sealed class Connection(StreamRun run, Socket socket)
    {
        private readonly byte[] _buffer = new byte[4096];
        private int _length;

        public int Fd { get; } = (int)socket.Handle;

        /// <summary>The slot whose request is in flight, or -1.</summary>
        public int Slot { get; private set; } = -1;

        public long Sent { get; private set; }

        public void Send(int slot, byte[] request)
        {
            (Slot, Sent, _length) = (slot, Stopwatch.GetTimestamp(), 0);
            if (socket.Send(request, 0, request.Length, SocketFlags.None, out var error) != request.Length || error != SocketError.Success)
            {
                Slot = -2; // a connection that failed stays out of the run: its slot stays unanswered
            }
        }

        public void Read()
        {
            while (true)
            {
                if (_length == _buffer.Length)
                {
                    Slot = -2; // larger than any answer of the storm app
                    return;
                }

                var read = socket.Receive(_buffer, _length, _buffer.Length - _length, SocketFlags.None, out var error);
                if (error == SocketError.WouldBlock)
                {
                    return;
                }

                if (read <= 0 || error != SocketError.Success)
                {
                    Slot = -2;
                    return;
                }

                _length += read;
                if (Complete() is { } status)
                {
                    run.Answered(Slot, Sent, status);
                    (Slot, _length) = (-1, 0);
                    return;
                }
            }
        }

        /// <summary>The status code once the whole response is in the buffer.</summary>
        private int? Complete()
        {
            var headerEnd = _buffer.AsSpan(0, _length).IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0)
            {
                return null;
            }

            var head = Encoding.ASCII.GetString(_buffer, 0, headerEnd);
            if (Header(head, "content-length") is { } contentLength)
            {
                if (_length < headerEnd + 4 + int.Parse(contentLength, CultureInfo.InvariantCulture))
                {
                    return null;
                }
            }
            else if (Header(head, "transfer-encoding") is "chunked"
                && _buffer.AsSpan(headerEnd + 2, _length - headerEnd - 2).IndexOf("\r\n0\r\n\r\n"u8) < 0)
            {
                // The last chunk is "0" on a line of its own, then an empty line (searched from the header's last line break).
                return null;
            }

            return int.Parse(head.AsSpan(9, 3), provider: CultureInfo.InvariantCulture);
        }

        private static string? Header(string head, string name)
        {
            foreach (var line in head.Split("\r\n"))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return line[(colon + 1)..].Trim();
                }
            }

            return null;
        }
    }

    private sealed class StreamRun : IDisposable
    {
        private readonly PacedStream _stream;
        private readonly Socket[] _sockets;
        private readonly byte[] _request;
        private readonly long[] _latency;
        private readonly long[] _service;
        private readonly long[] _lag;
        private readonly Queue<int> _waiting = new();
        private readonly double _ticksPerSlot;
        private readonly int _expected;
        private long _start;
        private int _released;
        private int _unexpected;
        private int _waited;

        public StreamRun(int port, PacedStream stream, double seconds)
        {
            _stream = stream;
            Seconds = seconds;
            _sockets = new Socket[stream.Connections];
            for (var i = 0; i < _sockets.Length; i++)
            {
                _sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                _sockets[i].Connect(new IPEndPoint(IPAddress.Loopback, port));
                _sockets[i].Blocking = false;
            }

            Connections = [.. _sockets.Select(s => new Connection(this, s))];
            _request = Encoding.ASCII.GetBytes($"GET {stream.Path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            var scheduled = (int)Math.Round(stream.Rate * seconds);
            (_latency, _service, _lag) = (new long[scheduled], new long[scheduled], new long[scheduled]);
            Array.Fill(_latency, -1);
            Array.Fill(_lag, -1);
            _ticksPerSlot = Stopwatch.Frequency / stream.Rate;
            _expected = stream.Path == "/throw" ? 500 : 200;
        }

        public double Seconds { get; }

        public Connection[] Connections { get; }

        public bool Busy => _waiting.Count > 0 || Connections.Any(c => c.Slot >= 0);

        public void Start(long start) => _start = start;

        /// <summary>Sends every slot due by <paramref name="now"/> that has a free connection; returns when the next slot is due.</summary>
        public long SendDue(long now)
        {
            while (_released < _latency.Length && Due(_released) <= now)
            {
                _waiting.Enqueue(_released++);
            }

            foreach (var connection in Connections)
            {
                if (_waiting.Count == 0)
                {
                    break;
                }

                if (connection.Slot == -1)
                {
                    var slot = _waiting.Dequeue();
                    var late = Stopwatch.GetTimestamp() - Due(slot);
                    if (late > Stopwatch.Frequency / 1000)
                    {
                        _waited++; // more than 1 ms after its slot: it waited for a free connection (charged to it)
                    }
                    else
                    {
                        _lag[slot] = late; // how late the client's wake-up was
                    }

                    connection.Send(slot, _request);
                }
            }

            return _released < _latency.Length ? Due(_released) : long.MaxValue;
        }

        public void Answered(int slot, long sent, int status)
        {
            var done = Stopwatch.GetTimestamp();
            _service[slot] = done - sent;
            _latency[slot] = done - Due(slot);
            if (status != _expected)
            {
                _unexpected++;
            }
        }

        public PacedResult Result(double seconds)
        {
            var micro = Stopwatch.Frequency / 1e6;
            var latency = _latency.Select(l => l >= 0 ? l / micro : double.PositiveInfinity).Order().ToArray();
            var service = _service.Where((_, i) => _latency[i] >= 0).Select(s => s / micro).Order().ToArray();
            var lag = _lag.Where(l => l >= 0).Select(l => l / micro).Order().ToArray();
            return new PacedResult(
                _stream.Path, _latency.Length, _latency.Count(l => l >= 0), _unexpected, seconds, latency,
                At(service, 0.5), At(service, 0.99), At(lag, 0.99), lag.Length > 0 ? lag[^1] : double.NaN, _waited);
        }

        public void Dispose()
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        private static double At(double[] sorted, double q) =>
            sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

        private long Due(int slot) => _start + (long)(slot * _ticksPerSlot);
    }

    [DllImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    private static extern int Ppoll([In, Out] PollFd[] fds, ulong count, ref TimeSpec timeout, IntPtr signalMask);

    [DllImport("libc", EntryPoint = "prctl")]
    private static extern int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Returned;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
