using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MessagePack;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>
/// A connection to the dashboard's Blazor hub (<c>/_blazor</c>) over a WebSocket, speaking SignalR's blazorpack protocol
/// as blazor.web.js does (negotiate, handshake, MessagePack messages each behind a varint length), and able to send
/// anything else: the hostile client of the hub's tests.
/// </summary>
internal sealed class BlazorHubClient : IAsyncDisposable
{
    public const string Handshake = "{\"protocol\":\"blazorpack\",\"version\":1}\u001e";

    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(30);

    private readonly ClientWebSocket _socket;
    private readonly Queue<byte[]> _received = new();
    private int _nextInvocationId;

    private BlazorHubClient(ClientWebSocket socket) => _socket = socket;

    public WebSocketState State => _socket.State;

    /// <summary>Negotiates and opens the WebSocket with the client's cookies; sends nothing more.</summary>
    public static async Task<BlazorHubClient> OpenAsync(DashboardServer server, HttpClient client, CookieContainer cookies)
    {
        var token = await NegotiateAsync(client);
        var socket = new ClientWebSocket();
        socket.Options.Cookies = cookies;
        var address = new UriBuilder(server.BaseAddress) { Scheme = "ws", Path = "/_blazor", Query = "id=" + Uri.EscapeDataString(token) }.Uri;
        await socket.ConnectAsync(address, CancellationToken.None);
        return new BlazorHubClient(socket);
    }

    /// <summary>Opened, with the blazorpack handshake done.</summary>
    public static async Task<BlazorHubClient> ConnectAsync(DashboardServer server, HttpClient client, CookieContainer cookies)
    {
        var hub = await OpenAsync(server, client, cookies);
        await hub.SendTextAsync(Handshake);
        var answer = await hub.ReceiveFrameAsync() ?? throw new InvalidOperationException("the hub closed the connection at the handshake");
        var text = Encoding.UTF8.GetString(answer);
        if (text != "{}\u001e")
        {
            throw new InvalidOperationException("handshake refused: " + text);
        }

        return hub;
    }

    public static async Task<string> NegotiateAsync(HttpClient client)
    {
        using var negotiate = await client.PostAsync("/_blazor/negotiate?negotiateVersion=1", null);
        negotiate.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await negotiate.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("connectionToken").GetString()!;
    }

    public Task SendTextAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    public Task SendBinaryAsync(byte[] bytes) =>
        _socket.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);

    /// <summary>Starts a circuit as blazor.web.js does (its root components follow in UpdateRootComponents): its id, or null when refused.</summary>
    public async Task<string?> StartCircuitAsync(string? baseUri = null, string? uri = null, string components = "[]", string applicationState = "")
    {
        var result = await InvokeAsync("StartCircuit", baseUri ?? BaseUri, uri ?? BaseUri, components, applicationState);
        return result.Error is null ? result.Value as string : throw new InvalidOperationException("StartCircuit failed: " + result.Error);
    }

    /// <summary>The base address blazor.web.js would send (set by the test from the server's).</summary>
    public string BaseUri { get; set; } = "http://127.0.0.1/";

    /// <summary>Invokes a hub method and waits for its completion (skipping what the server sends meanwhile).</summary>
    public async Task<(object? Value, string? Error)> InvokeAsync(string target, params object?[] arguments)
    {
        var id = (++_nextInvocationId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await SendBinaryAsync(Invocation(id, target, arguments));
        while (await ReceiveMessageAsync() is { } message)
        {
            var reader = new MessagePackReader(message);
            var count = reader.ReadArrayHeader();
            var type = reader.ReadInt32();
            if (type == 7)
            {
                reader.Skip(); // headers are not in close messages: [7, error, allowReconnect]
                throw new HubClosedException("the hub closed the connection");
            }

            if (type != 3)
            {
                continue;
            }

            reader.Skip(); // headers
            if (reader.ReadString() != id)
            {
                continue;
            }

            var kind = reader.ReadInt32();
            return kind switch
            {
                1 => (null, reader.ReadString()),
                2 => (null, null),
                _ => (count > 4 ? Read(ref reader) : null, null),
            };
        }

        throw new HubClosedException("the hub closed the connection");
    }

    /// <summary>Sends a hub method with no answer expected, as blazor.web.js sends most of them.</summary>
    public Task SendAsync(string target, params object?[] arguments) => SendBinaryAsync(Invocation(null, target, arguments));

    /// <summary>Waits for the server to close the connection (true) or for <paramref name="within"/> to pass (false), reading what comes meanwhile.</summary>
    public async Task<bool> ClosedWithinAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            while (await ReceiveFrameAsync(timeout.Token) is not null)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The invocation message, framed: [1, headers, id, target, arguments, stream ids].</summary>
    public static byte[] Invocation(string? invocationId, string target, params object?[] arguments)
    {
        var body = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(body);
        writer.WriteArrayHeader(6);
        writer.Write(1);
        writer.WriteMapHeader(0);
        if (invocationId is null)
        {
            writer.WriteNil();
        }
        else
        {
            writer.Write(invocationId);
        }

        writer.Write(target);
        writer.WriteArrayHeader(arguments.Length);
        foreach (var argument in arguments)
        {
            switch (argument)
            {
                case null: writer.WriteNil(); break;
                case string text: writer.Write(text); break;
                case bool flag: writer.Write(flag); break;
                case int number: writer.Write(number); break;
                case long number: writer.Write(number); break;
                case byte[] bytes: writer.Write(bytes); break;
                default: throw new ArgumentException("unsupported argument " + argument.GetType());
            }
        }

        writer.WriteArrayHeader(0);
        writer.Flush();
        return Frame(body.WrittenSpan);
    }

    /// <summary>A message behind its varint length, as blazorpack frames each one.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message)
    {
        var framed = new List<byte>(message.Length + 5);
        var length = (uint)message.Length;
        do
        {
            var next = (byte)(length & 0x7f);
            length >>= 7;
            framed.Add(length > 0 ? (byte)(next | 0x80) : next);
        }
        while (length > 0);

        framed.AddRange(message);
        return [.. framed];
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception failure) when (failure is WebSocketException or OperationCanceledException)
        {
            // already gone
        }

        _socket.Dispose();
    }

    private async Task<byte[]?> ReceiveMessageAsync()
    {
        while (_received.Count == 0)
        {
            if (await ReceiveFrameAsync() is not { } frame)
            {
                return null;
            }

            // One WebSocket message holds one or more length-prefixed messages.
            var offset = 0;
            while (offset < frame.Length)
            {
                int length = 0, shift = 0;
                byte next;
                do
                {
                    next = frame[offset++];
                    length |= (next & 0x7f) << shift;
                    shift += 7;
                }
                while ((next & 0x80) != 0);

                _received.Enqueue(frame[offset..(offset + length)]);
                offset += length;
            }
        }

        return _received.Dequeue();
    }

    /// <summary>The next WebSocket message, or null once the server closed the connection.</summary>
    private async Task<byte[]?> ReceiveFrameAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReceiveTimeout);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    return message.ToArray();
                }
            }
        }
        catch (WebSocketException)
        {
            return null; // the server dropped the connection without a close frame
        }
    }

    private static object? Read(ref MessagePackReader reader) => reader.NextMessagePackType switch
    {
        MessagePackType.Nil => reader.TryReadNil() ? null : null,
        MessagePackType.String => reader.ReadString(),
        MessagePackType.Boolean => reader.ReadBoolean(),
        MessagePackType.Integer => reader.ReadInt64(),
        _ => SkipTo(ref reader),
    };

    private static object? SkipTo(ref MessagePackReader reader)
    {
        reader.Skip();
        return "(not read)";
    }
}

internal sealed class HubClosedException(string message) : Exception(message);
