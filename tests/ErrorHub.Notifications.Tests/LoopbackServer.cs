using System.Net;
using System.Net.Sockets;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// A hand-made server on a free loopback port: each connection is answered by <see cref="AnswerAsync"/> in a task of its
/// own until the server is disposed, or <c>stopAfter</c> has passed, so that a test that hangs still ends.
/// </summary>
internal abstract class LoopbackServer(TimeSpan stopAfter) : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new(stopAfter);
    private Task _serving = Task.CompletedTask;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Cancelled when the server stops: every read and write of an answer waits on it.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>Answers one connection; the connection is closed after.</summary>
    protected abstract Task AnswerAsync(TcpClient connection);

    protected void Start()
    {
        _listener.Start();
        _serving = ServeAsync();
    }

    private async Task ServeAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                connections.Add(AnswerAsync(await _listener.AcceptTcpClientAsync(_stop.Token)));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The test is over.
        }

        await Task.WhenAll(connections);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _serving;
        _stop.Dispose();
    }
}
