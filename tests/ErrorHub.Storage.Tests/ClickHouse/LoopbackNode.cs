using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ErrorHub.Storage.Tests.ClickHouse;

/// <summary>
/// A loopback listener in ClickHouse's place, for answers no real ClickHouse gives: it accepts connections until it is
/// disposed (or <c>lifetime</c> ends, so that a test that forgets still stops), reads each request's head and hands the
/// connection to the test's <c>answer</c>, then closes it. A client that hangs up, or the test's end, ends an answer quietly.
/// </summary>
internal sealed class LoopbackNode : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop;
    private readonly Func<NetworkStream, string, CancellationToken, Task> _answer;
    private readonly int _maxConnections;
    private readonly TaskCompletionSource _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _connections;
    private Task _accepting = Task.CompletedTask;

    private LoopbackNode(Func<NetworkStream, string, CancellationToken, Task> answer, TimeSpan lifetime, int maxConnections)
    {
        _answer = answer;
        _stop = new CancellationTokenSource(lifetime);
        _maxConnections = maxConnections;
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Completes once a request's head has arrived.</summary>
    public Task Asked => _asked.Task;

    /// <summary>Completes once the first connection's answer is over: sent whole, or the client hung up.</summary>
    public Task Answered => _answered.Task;

    /// <summary>Starts listening; <paramref name="answer"/> gets each connection's stream and its request's head.</summary>
    public static LoopbackNode Start(Func<NetworkStream, string, CancellationToken, Task> answer, TimeSpan lifetime, int maxConnections = int.MaxValue)
    {
        var node = new LoopbackNode(answer, lifetime, maxConnections);
        node._listener.Start();
        node._accepting = node.AcceptAsync();
        return node;
    }

    private async Task AcceptAsync()
    {
        var answering = new List<Task>();
        try
        {
            while (answering.Count < _maxConnections)
            {
                var connection = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                answering.Add(AnswerAsync(connection));
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The test is over.
        }

        await Task.WhenAll(answering);
    }

    private async Task AnswerAsync(TcpClient connection)
    {
        using var _ = connection;
        try
        {
            var stream = connection.GetStream();
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && head.Length < 64 * 1024)
            {
                var read = await stream.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                head.Append(Encoding.Latin1.GetString(buffer, 0, read));
            }

            _asked.TrySetResult();
            await _answer(stream, head.ToString(), _stop.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client hung up, or the test is over.
        }
        finally
        {
            _answered.TrySetResult();
        }
    }

    /// <summary>Reads until the client hangs up or the test ends: a node that has nothing more to say and keeps the connection.</summary>
    public static async Task HoldAsync(NetworkStream stream, CancellationToken stop)
    {
        var buffer = new byte[4096];
        while (await stream.ReadAsync(buffer, stop) > 0)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
