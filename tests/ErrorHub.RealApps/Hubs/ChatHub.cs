using Microsoft.AspNetCore.SignalR;

namespace ErrorHub.RealApps.Hubs;

public sealed class ChatHub : Hub
{
    /// <summary>The hub's way to tell the caller "no": the message reaches the client, the app handled it.</summary>
    public Task Join(string room) => throw new HubException($"Room {room} is full");

    public Task Send(string room, string message) => throw new InvalidOperationException($"Room {room} lost its history");

    public Task<int> Echo(int value) => Task.FromResult(value);
}
