using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.Http;

namespace ErrorHub.AspNetCore;

/// <summary>
/// Lets a failure on a Blazor Server circuit name the page it happened on. The circuit's only request is its WebSocket
/// (<c>/_blazor</c>), which says nothing about the page; the circuit's <see cref="NavigationManager"/> knows the page the
/// user is on, including after in-app navigation. Added to every app by <c>AddErrorHub()</c>; only a circuit makes it.
/// </summary>
/// <remarks>
/// The navigation manager is asked of the circuit's scope, not taken in the constructor: an app without Blazor has none,
/// and a host that validates its services at start (every app in Development) would refuse a handler that needs one.
/// </remarks>
internal sealed class CircuitPages(IServiceProvider circuitServices, CurrentRequests requests) : CircuitHandler
{
    public override Task OnCircuitOpenedAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        // The circuit opens inside its connection's request, which a capture on the circuit later finds (see
        // HttpRequestContext): the page goes with that request. One circuit per connection.
        if (requests.Current is { } connection && circuitServices.GetService(typeof(NavigationManager)) is NavigationManager navigation)
        {
            connection.Features.Set(new CircuitPage(navigation));
        }

        return Task.CompletedTask;
    }
}

/// <summary>The page of the circuit a SignalR connection carries.</summary>
internal sealed class CircuitPage(NavigationManager navigation)
{
    /// <summary>The page's URL now; null when it cannot be read (a circuit not yet or no longer initialised).</summary>
    public string? Url
    {
        get
        {
            try
            {
                return navigation.Uri;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }
}
