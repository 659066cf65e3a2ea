using System.Runtime.CompilerServices;
using ErrorHub.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace ErrorHub.AspNetCore;

/// <summary>
/// Reports a SignalR hub method that throws, as soon as it throws. Without it the hub's failure reached ErrorHub only
/// through SignalR's own "Failed invoking hub method" log entry: named by the dispatcher, with no user (the connection's
/// HTTP request is not current in a hub call, and would complete only when the client leaves), and a
/// <see cref="HubException"/> (the hub's way to send the caller an error message, which the app meant) was reported
/// like a crash. Here a <see cref="HubException"/> is marked handled and never reported; any other exception is
/// reported once with the caller's user and the hub method, and the dispatcher's log entry of it is not reported again.
/// Added to every hub by <c>AddErrorHub()</c>; an app without SignalR never builds <see cref="HubOptions"/>.
/// </summary>
internal sealed class HubReporting(ErrorHubClient client) : IConfigureOptions<HubOptions>, IHubFilter
{
    public void Configure(HubOptions options)
    {
        if (client.IsEnabled)
        {
            options.AddFilter(this);
        }
    }

    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        ValueTask<object?> pending;
        try
        {
            pending = next(invocationContext);
        }
        catch (Exception exception) when (Report(invocationContext, exception))
        {
            throw; // unreachable: Report always returns false
        }

        // A hub method that completed costs nothing more; only one still running is awaited here.
        return pending.IsCompletedSuccessfully ? pending : AwaitAsync(pending, invocationContext);
    }

    private async ValueTask<object?> AwaitAsync(ValueTask<object?> pending, HubInvocationContext invocationContext)
    {
        try
        {
            return await pending.ConfigureAwait(false);
        }
        catch (Exception exception) when (Report(invocationContext, exception))
        {
            throw; // unreachable: Report always returns false
        }
    }

    private bool Report(HubInvocationContext invocation, Exception exception)
    {
        try
        {
            var caller = invocation.Context;
            if (exception is HubException || (exception is OperationCanceledException && caller.ConnectionAborted.IsCancellationRequested))
            {
                // Meant for the caller, or the caller left: handled. Marked so that SignalR's log entry is not reported.
                client.TryMarkCaptured(exception);
                return false;
            }

            var method = $"{invocation.Hub.GetType().Name}.{invocation.HubMethodName}";
            var user = RequestCapture.UserOf(caller.User, caller.GetHttpContext()?.Connection.RemoteIpAddress, client.Options);
            client.Capture(exception, ErrorHubLevel.Error, CaptureSource.Connection, e => Describe(e, method, user, caller));
        }
        catch (Exception)
        {
            // Nothing may reach the hub's caller from here: Capture logs its own failures.
        }

        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Describe(ErrorHubEvent errorEvent, string method, UserInfo? user, HubCallerContext caller)
    {
        errorEvent.Tags["hub.method"] = method;
        errorEvent.Extra["signalr.connection_id"] = caller.ConnectionId;
        if (caller.GetHttpContext()?.Request.Path is { HasValue: true } path)
        {
            errorEvent.Tags.TryAdd("hub.path", path.Value!);
        }

        if (user is not null)
        {
            errorEvent.User = user;
        }
    }
}
