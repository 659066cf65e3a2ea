using ErrorHub.Server;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// Bounds the dashboard tabs (Blazor circuits) one account has open at once (<c>ErrorHub:Access:OpenTabsPerAccount</c>).
/// Blazor itself bounds only the circuits whose connection is gone (<c>DisconnectedCircuitMaxRetained</c>); a signed-in
/// script could start circuits on connection after connection (long polling needs no WebSocket, so Kestrel's bound on
/// upgraded connections does not hold it), each keeping its pages' state in memory until the connection ends. A connection
/// counts from the moment its circuit starts (or is taken over after a reconnect, or resumed from the state of a paused or
/// evicted circuit: .NET 10's circuit persistence) until the connection ends; past the bound the hub refuses the start
/// (blazor.web.js shows its error bar), closes that connection and logs it once per account.
/// </summary>
internal sealed partial class OpenTabsPerAccount(IOptions<ErrorHubServerOptions> options, ILogger<OpenTabsPerAccount> logger) : IHubFilter
{
    private const string CountedKey = "ErrorHub.OpenTab";

    private readonly Dictionary<Guid, int> _open = [];
    private readonly HashSet<Guid> _refusedSinceLastClose = [];
    private readonly Lock _lock = new();

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var context = invocationContext.Context;
        var method = invocationContext.HubMethodName;
        // Each of the three gives the connection a circuit; a resume was not counted before, a way around the bound.
        if (method is not ("StartCircuit" or "ConnectCircuit" or "ResumeCircuit") || context.Items.ContainsKey(CountedKey))
        {
            return await next(invocationContext);
        }

        // The hub's fallback policy lets only signed-in users (or API tokens) connect at all.
        if (AccessClaims.UserId(context.User) is not { } user)
        {
            return await next(invocationContext);
        }

        var limit = options.Value.Access.OpenTabsPerAccount;
        if (!TryOpen(user, limit, out var firstRefusal))
        {
            if (firstRefusal)
            {
                LogTooManyTabs(logger, user, limit);
            }

            // A refused connection has no circuit and asked for one (so the start deadline no longer holds it): left open,
            // a script could hold connection after connection past the bound. The answer below may be lost with it;
            // blazor.web.js then reports the start as failed, as it does the answer.
            context.Abort();
            return method == "ConnectCircuit" ? false : null; // StartCircuit and ResumeCircuit answer the circuit's id, null when none
        }

        var started = false;
        try
        {
            var result = await next(invocationContext);
            started = result is string or true; // the circuit's id (started or resumed), or true for a circuit taken over
            return result;
        }
        finally
        {
            if (started)
            {
                context.Items[CountedKey] = user;
            }
            else
            {
                Close(user);
            }
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            await next(context, exception);
        }
        finally
        {
            if (context.Context.Items.Remove(CountedKey, out var user) && user is Guid id)
            {
                Close(id);
            }
        }
    }

    /// <summary>How many tabs the account has open now (for tests and diagnostics).</summary>
    internal int OpenTabs(Guid user)
    {
        lock (_lock)
        {
            return _open.GetValueOrDefault(user);
        }
    }

    private bool TryOpen(Guid user, int limit, out bool firstRefusal)
    {
        lock (_lock)
        {
            var open = _open.GetValueOrDefault(user);
            if (open >= limit)
            {
                firstRefusal = _refusedSinceLastClose.Add(user);
                return false;
            }

            firstRefusal = false;
            _open[user] = open + 1;
            return true;
        }
    }

    private void Close(Guid user)
    {
        lock (_lock)
        {
            _refusedSinceLastClose.Remove(user);
            if (_open.TryGetValue(user, out var open) && open > 1)
            {
                _open[user] = open - 1;
            }
            else
            {
                _open.Remove(user); // an account without open tabs takes no room
            }
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "A dashboard tab of account {UserId} was refused: it has {Limit} open already (ErrorHub:Access:OpenTabsPerAccount); further refusals are not logged until one of its tabs closes")]
    private static partial void LogTooManyTabs(ILogger logger, Guid userId, int limit);
}
