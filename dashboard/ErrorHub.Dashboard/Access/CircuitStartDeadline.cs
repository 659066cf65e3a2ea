using Microsoft.AspNetCore.SignalR;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// Closes a connection to the Blazor hub that has not asked for a circuit (<c>StartCircuit</c>, <c>ConnectCircuit</c> or
/// <c>ResumeCircuit</c>) within <see cref="Deadline"/> of its handshake. SignalR's client timeout only starts counting at
/// the first whole message a client sends: a client that completes the handshake and then sends nothing, or the first
/// bytes of a message it never finishes, was held open without end (more than 50 s were observed), each holding one of
/// Kestrel's upgraded connections. blazor.web.js asks for its circuit as soon as the handshake is done, so a real tab
/// never meets this bound.
/// </summary>
internal sealed class CircuitStartDeadline(TimeProvider time) : IHubFilter
{
    private const string TimerKey = "ErrorHub.CircuitStartDeadline";

    /// <summary>The hub's own client timeout, as long as a tab may stay silent (tests set a shorter one).</summary>
    public TimeSpan Deadline { get; init; } = DashboardCircuits.ClientTimeoutInterval;

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        await next(context);
        var connection = context.Context;
        connection.Items[TimerKey] = time.CreateTimer(static state => ((HubCallerContext)state!).Abort(), connection, Deadline, Timeout.InfiniteTimeSpan);
    }

    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (invocationContext.HubMethodName is "StartCircuit" or "ConnectCircuit" or "ResumeCircuit")
        {
            StopTimer(invocationContext.Context); // asked for its circuit, whether it gets one or not
        }

        return next(invocationContext);
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        StopTimer(context.Context);
        await next(context, exception);
    }

    private static void StopTimer(HubCallerContext connection)
    {
        if (connection.Items.Remove(TimerKey, out var timer))
        {
            ((ITimer)timer!).Dispose();
        }
    }
}
