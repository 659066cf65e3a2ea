using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ErrorHub.Testing.ClickHouse;

/// <summary>What <see cref="ClickHouseFaultProxy"/> does to each request.</summary>
public enum ClickHouseFault
{
    /// <summary>Passes everything through: a healthy ClickHouse.</summary>
    None,

    /// <summary>Answers 500 with a ClickHouse exception body, without passing the request on (it refused the query).</summary>
    ErrorAnswer,

    /// <summary>Passes the request on, then answers 200 with the real headers' status and random bytes for a body.</summary>
    GarbageBody,

    /// <summary>Passes the request on, then sends half of the real answer and closes the connection cleanly.</summary>
    TruncatedBody,

    /// <summary>Passes the request on, then sends half of the real answer and resets the connection.</summary>
    ResetMidAnswer,

    /// <summary>Passes the request on, then sends the real answer a few bytes a second.</summary>
    SlowDrip,

    /// <summary>
    /// Passes the request on, then sends the real answer's headers and the first half of its body, and nothing more while
    /// the connection stays open: a node that hangs (SIGSTOP, a stuck disk) after its answer started. Not in
    /// <see cref="ClickHouseFaultProxy.Faults"/>: background work (an insert's answer, a notification round) waits for it up
    /// to the whole RequestTimeout, as for a node that hangs before answering.
    /// </summary>
    StallAfterHeaders,

    /// <summary>
    /// Answers 200 with rows that do not end (until the client hangs up, or 512 MB), without passing the request on: a
    /// server ignoring a query's <c>LIMIT</c>, a proxy pouring another answer. Not in <see cref="ClickHouseFaultProxy.Faults"/>:
    /// an insert it answers is taken, and not stored, which no ClickHouse does.
    /// </summary>
    EndlessRows,
}

/// <summary>
/// A loopback TCP proxy in front of a real ClickHouse HTTP port that breaks answers the way a sick server or a middlebox
/// does (<see cref="ClickHouseFault"/>). Changing <see cref="Fault"/> closes every open connection, so pooled
/// connections pick up the new behaviour. Requests sent on are sent with <c>Connection: close</c> under a fault, so the
/// whole answer is known before it is broken. Everything stops by itself after <see cref="MaxLifetime"/> (or the lifetime given).
/// </summary>
public sealed class ClickHouseFaultProxy : IAsyncDisposable
{
    private static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(5);
    private const int MaxRequestBytes = 64 << 20;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop;
    private readonly Uri _upstream;
    private readonly List<TcpClient> _open = [];
    private Task _accepting = Task.CompletedTask;
    private volatile ClickHouseFault _fault;
    private int _faulted;

    private ClickHouseFaultProxy(Uri upstream, TimeSpan lifetime)
    {
        _upstream = upstream;
        _stop = new CancellationTokenSource(lifetime);
    }

    /// <summary>Every fault, for the tests that meet each of them.</summary>
    public static IReadOnlyList<ClickHouseFault> Faults { get; } = [.. Enum.GetValues<ClickHouseFault>().Where(f => f is not (ClickHouseFault.None or ClickHouseFault.EndlessRows or ClickHouseFault.StallAfterHeaders))];

    private const long MaxEndlessBytes = 512L << 20;

    private long _largestEndlessAnswer;

    /// <summary>The most bytes of rows sent on one connection under <see cref="ClickHouseFault.EndlessRows"/>: how far a client read.</summary>
    public long LargestEndlessAnswer => Interlocked.Read(ref _largestEndlessAnswer);

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>How many requests were answered with a fault so far.</summary>
    public int FaultedRequests => Volatile.Read(ref _faulted);

    /// <summary>
    /// Which requests meet <see cref="Fault"/>, by their head (request line and headers, URL-decoded) and the first KB of
    /// their body, where a statement may be; null: every one. The others are passed on and answered unchanged, so that, say, an
    /// insert's answer breaks while the reads before it work.
    /// </summary>
    public Func<string, bool>? FaultOnly { get; set; }

    /// <summary>A <see cref="FaultOnly"/> that picks no request: the fault stays set, and every request passes through.</summary>
    public static Func<string, bool> NoRequest { get; } = _ => false;

    /// <summary>A <see cref="FaultOnly"/> that picks the inserts into <paramref name="table"/>, everything else passing through.</summary>
    public static Func<string, bool> InsertsInto(string table) =>
        head => head.Contains("INSERT INTO", StringComparison.OrdinalIgnoreCase) && head.Contains(table, StringComparison.Ordinal);

    /// <summary>
    /// Sets <paramref name="fault"/> for no request yet: a test then picks the requests that meet it with <see cref="FaultOnly"/>,
    /// and heals the proxy with <see cref="NoRequest"/>. Call it before a connection is open: setting <see cref="Fault"/> resets
    /// the open connections, which fails a request under way; setting <see cref="FaultOnly"/> does not.
    /// </summary>
    public void Arm(ClickHouseFault fault)
    {
        FaultOnly = NoRequest;
        Fault = fault;
    }

    /// <summary>
    /// Which requests wait, before they are passed on, until <see cref="ReleaseHeld"/> (null: none): a request under way for as
    /// long as a test needs, say to send another meanwhile. Like <see cref="FaultOnly"/>, only under a <see cref="Fault"/> other
    /// than <see cref="ClickHouseFault.None"/> (the requests <see cref="FaultOnly"/> does not pick are passed on unchanged).
    /// </summary>
    public Func<string, bool>? HoldOnly { get; set; }

    /// <summary>How many requests <see cref="HoldOnly"/> picked and held so far: how many a client sent to a store that did not answer.</summary>
    public int HeldRequests => Volatile.Read(ref _heldCount);

    private int _heldCount;

    /// <summary>Completes when the first request <see cref="HoldOnly"/> picked has arrived and is held.</summary>
    public Task FirstHeld => _held.Task;

    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Passes on the held requests, and those <see cref="HoldOnly"/> picks from now on, without holding them.</summary>
    public void ReleaseHeld() => _released.TrySetResult();

    public ClickHouseFault Fault
    {
        get => _fault;
        set
        {
            _fault = value;
            lock (_open)
            {
                foreach (var connection in _open)
                {
                    connection.Dispose();
                }

                _open.Clear();
            }
        }
    }

    /// <param name="lifetime">When it stops by itself: <see cref="MaxLifetime"/> unless a test needs longer (a fixture that serves several tests).</param>
    public static ClickHouseFaultProxy Start(Uri upstream, TimeSpan? lifetime = null)
    {
        var proxy = new ClickHouseFaultProxy(upstream, lifetime ?? MaxLifetime);
        proxy._listener.Start();
        proxy._accepting = proxy.AcceptAsync();
        return proxy;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_open)
                {
                    _open.Add(client);
                }

                _ = ServeAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        using var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_upstream.Host, _upstream.Port, _stop.Token);
            var fault = _fault;
            if (fault == ClickHouseFault.None)
            {
                var up = client.GetStream().CopyToAsync(upstream.GetStream(), _stop.Token);
                var down = upstream.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
                await Task.WhenAny(up, down);
                return;
            }

            var request = await ReadRequestAsync(client.GetStream());
            if (request is null)
            {
                return;
            }

            if (HoldOnly is { } hold && hold(RequestHead(request)))
            {
                Interlocked.Increment(ref _heldCount);
                _held.TrySetResult();
                await _released.Task.WaitAsync(_stop.Token);
            }

            if (FaultOnly is { } only && !only(RequestHead(request)))
            {
                await upstream.GetStream().WriteAsync(request, _stop.Token);
                await client.GetStream().WriteAsync(await ReadToEndAsync(upstream.GetStream()), _stop.Token);
                return;
            }

            Interlocked.Increment(ref _faulted);
            if (fault == ClickHouseFault.ErrorAnswer)
            {
                var body = "Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded: would use 9.31 GiB (attempt to allocate chunk of 1048576 bytes), maximum: 9.31 GiB, e.what() = DB::Exception\n";
                await WriteAsync(client, $"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=UTF-8\r\nX-ClickHouse-Exception-Code: 241\r\nConnection: close\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}");
                return;
            }

            if (fault == ClickHouseFault.EndlessRows)
            {
                await PourRowsAsync(client);
                return;
            }

            await upstream.GetStream().WriteAsync(request, _stop.Token);
            var answer = await ReadToEndAsync(upstream.GetStream());
            var headerEnd = HeaderEnd(answer);
            switch (fault)
            {
                case ClickHouseFault.GarbageBody:
                    var status = headerEnd < 0 ? "HTTP/1.1 200 OK" : Encoding.Latin1.GetString(answer, 0, answer.AsSpan().IndexOf("\r\n"u8));
                    var garbage = new byte[4096];
                    new Random(answer.Length).NextBytes(garbage);
                    await WriteAsync(client, $"{status}\r\nContent-Type: text/tab-separated-values; charset=UTF-8\r\nConnection: close\r\nContent-Length: {garbage.Length}\r\n\r\n");
                    await client.GetStream().WriteAsync(garbage, _stop.Token);
                    break;
                case ClickHouseFault.TruncatedBody or ClickHouseFault.ResetMidAnswer:
                    var bodyLength = headerEnd < 0 ? 0 : answer.Length - headerEnd;
                    var cut = bodyLength > 1 ? headerEnd + (bodyLength / 2) : answer.Length / 2;
                    await client.GetStream().WriteAsync(answer.AsMemory(0, cut), _stop.Token);
                    if (fault == ClickHouseFault.ResetMidAnswer)
                    {
                        client.Client.LingerState = new LingerOption(true, 0); // closing now sends a reset
                    }
                    else
                    {
                        client.Client.Shutdown(SocketShutdown.Send);
                    }

                    break;
                case ClickHouseFault.StallAfterHeaders:
                    var sentBody = headerEnd < 0 ? 0 : (answer.Length - headerEnd) / 2;
                    await client.GetStream().WriteAsync(answer.AsMemory(0, headerEnd < 0 ? answer.Length / 2 : headerEnd + sentBody), _stop.Token);
                    var ignored = new byte[4096];
                    while (await client.GetStream().ReadAsync(ignored, _stop.Token) > 0)
                    {
                        // Hung: nothing more is sent until the client hangs up, the fault changes or the proxy stops.
                    }

                    break;
                case ClickHouseFault.SlowDrip:
                    for (var i = 0; i < answer.Length; i += 4)
                    {
                        await client.GetStream().WriteAsync(answer.AsMemory(i, Math.Min(4, answer.Length - i)), _stop.Token);
                        await Task.Delay(1000, _stop.Token);
                    }

                    break;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Either side went away: the connection ends.
        }
        finally
        {
            lock (_open)
            {
                _open.Remove(client);
            }
        }
    }

    private async Task PourRowsAsync(TcpClient client)
    {
        await WriteAsync(client, "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nConnection: close\r\n\r\n");
        var rows = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("{\"fingerprint\":\"0123456789abcdef\",\"n\":\"1\"}\n", 1024)));
        long sent = 0;
        try
        {
            while (sent < MaxEndlessBytes)
            {
                await client.GetStream().WriteAsync(rows, _stop.Token);
                sent += rows.Length;
            }
        }
        finally
        {
            long largest;
            while ((largest = Interlocked.Read(ref _largestEndlessAnswer)) < sent && Interlocked.CompareExchange(ref _largestEndlessAnswer, sent, largest) != largest)
            {
            }
        }
    }

    private async Task WriteAsync(TcpClient client, string text) =>
        await client.GetStream().WriteAsync(Encoding.Latin1.GetBytes(text), _stop.Token);

    /// <summary>One whole HTTP request (by Content-Length or chunked), with <c>Connection: close</c> put in; null when the client went away.</summary>
    private async Task<byte[]?> ReadRequestAsync(NetworkStream stream)
    {
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int headerEnd;
        while ((headerEnd = HeaderEnd(received.GetBuffer().AsSpan(0, (int)received.Length))) < 0)
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0 || received.Length > MaxRequestBytes)
            {
                return null;
            }

            received.Write(buffer, 0, read);
        }

        var head = Encoding.Latin1.GetString(received.GetBuffer(), 0, headerEnd);
        var lines = head.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var contentLength = lines.Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(p => (long?)long.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        var chunked = lines.Any(l => l.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase) && l.Contains("chunked", StringComparison.OrdinalIgnoreCase));
        while (received.Length <= MaxRequestBytes)
        {
            var body = received.GetBuffer().AsSpan(headerEnd, (int)received.Length - headerEnd);
            if (chunked ? body.EndsWith("0\r\n\r\n"u8) : body.Length >= (contentLength ?? 0))
            {
                break;
            }

            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return null;
            }

            received.Write(buffer, 0, read);
        }

        var kept = lines.Where(l => !l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase));
        var rewritten = Encoding.Latin1.GetBytes(string.Join("\r\n", kept) + "\r\nConnection: close\r\n\r\n");
        return [.. rewritten, .. received.GetBuffer().AsSpan(headerEnd, (int)received.Length - headerEnd)];
    }

    /// <summary>The head and the start of the body (where an insert may name its table instead of the query string).</summary>
    private static string RequestHead(byte[] request) =>
        WebUtility.UrlDecode(Encoding.Latin1.GetString(request, 0, Math.Min(request.Length, Math.Max(0, HeaderEnd(request)) + 1024)));

    private async Task<byte[]> ReadToEndAsync(NetworkStream stream)
    {
        using var answer = new MemoryStream();
        await stream.CopyToAsync(answer, _stop.Token);
        return answer.ToArray();
    }

    /// <summary>Where the body starts (after the blank line), or -1 while the headers are not complete.</summary>
    private static int HeaderEnd(ReadOnlySpan<byte> data)
    {
        var end = data.IndexOf("\r\n\r\n"u8);
        return end < 0 ? -1 : end + 4;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Fault = ClickHouseFault.None;
        await _accepting;
        _stop.Dispose();
    }
}
