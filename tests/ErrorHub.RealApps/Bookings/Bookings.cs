using System.ComponentModel.DataAnnotations;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using Carter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.RealApps.Bookings;

/// <summary>A new booking, validated by .NET 10's minimal API validation (<c>AddValidation()</c>).</summary>
public sealed record NewBooking([property: Required] string Guest, [property: Range(1, 30)] int Nights);

/// <summary>The guests' endpoints, as a Carter module.</summary>
public sealed class GuestsModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        var guests = app.MapGroup("/guests");
        guests.MapGet("/{id:int}", (int id) => id switch
        {
            > 100 => Results.NotFound(),
            > 0 => Results.Ok(id),
            _ => throw new KeyNotFoundException($"Guest {id} has no loyalty account"),
        });
        guests.MapPost("/{id:int}/merge", async (int id, HttpRequest request) =>
        {
            await Task.Yield();
            return id > 0 ? throw new InvalidOperationException($"Guest {id} cannot be merged into itself") : Results.NoContent();
        });
    }
}

public sealed class BookingNotFoundException(int id) : Exception($"Booking {id} does not exist");

public sealed class BookingConflictException(int id) : Exception($"Booking {id} was confirmed meanwhile");

public sealed class BookingRuleException(int id) : Exception($"Booking {id} cannot be cancelled on its arrival day");

public sealed class PaymentDeclinedException(int id) : Exception($"The card for booking {id} was declined");

public sealed class ChannelManagerBusyException(int id) : Exception($"Channel manager is busy, booking {id} not synchronised");

/// <summary>
/// The app's own exception handlers, as .NET 8's documentation chains them: the first answers a declined payment with a
/// 402 problem through <see cref="IProblemDetailsService"/> (handled: true), the second a busy channel manager with a 503
/// (handled, but a failure of the app's), and everything else is left to the next (false).
/// </summary>
public sealed class PaymentDeclinedHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not PaymentDeclinedException)
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status402PaymentRequired;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, Exception = exception });
    }
}

public sealed class ChannelManagerBusyHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not ChannelManagerBusyException)
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, Exception = exception });
    }
}

/// <summary>A typed client of the exchange-rate service, as <c>AddHttpClient&lt;T&gt;</c> makes it.</summary>
public sealed class ExchangeRatesClient(HttpClient http)
{
    public async Task<decimal> GetRateAsync(string currency, CancellationToken cancellationToken) =>
        await http.GetFromJsonAsync<decimal>($"/rates/{currency}", cancellationToken);
}

/// <summary>
/// A booking API on what .NET 9 and 10 added: <c>UseExceptionHandler</c> with a <c>StatusCodeSelector</c> that maps the
/// domain's exceptions to 404, 409 and 422, a chain of <c>IExceptionHandler</c>s writing problem details, Server-Sent
/// Events, a WebSocket endpoint, status code pages re-executed into a status page, and a typed HTTP client.
/// </summary>
public static class BookingApi
{
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddValidation();
        builder.Services.AddRooms();
        builder.Services.AddCarter(configurator: carter => carter.WithModule<GuestsModule>());
        builder.Services.AddExceptionHandler<PaymentDeclinedHandler>();
        builder.Services.AddExceptionHandler<ChannelManagerBusyHandler>();
        // The exchange-rate service is down: nothing listens on its port.
        var ratesService = builder.Configuration["Rates:Url"] ?? $"http://127.0.0.1:{UnusedLoopbackPort()}";
        builder.Services.AddHttpClient<ExchangeRatesClient>(http => http.BaseAddress = new Uri(ratesService));
        var app = builder.Build();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception switch
            {
                BookingNotFoundException or RoomNotFoundException => StatusCodes.Status404NotFound,
                BookingConflictException => StatusCodes.Status409Conflict,
                BookingRuleException => StatusCodes.Status422UnprocessableEntity,
                _ => StatusCodes.Status500InternalServerError,
            },
        });
        app.UseStatusCodePagesWithReExecute("/status/{0}");
        app.UseErrorHub();
        app.UseWebSockets();
        app.Use(RealApp.SignInFromHeader);

        app.MapCarter();
        app.MapRooms();
        var bookings = app.MapGroup("/bookings");
        bookings.MapPost("/", (NewBooking booking) => booking.Nights == 13
            ? throw new ArgumentException($"No rate plan covers {booking.Nights} nights")
            : TypedResults.Created($"/bookings/{booking.Nights}", booking));
        bookings.MapGet("/{id:int}", (int id) => id < 100 ? TypedResults.Ok(id) : throw new BookingNotFoundException(id));
        bookings.MapPost("/{id:int}/confirm", (int id) => TypedResults.Ok(id > 0 ? throw new BookingConflictException(id) : id));
        bookings.MapPost("/{id:int}/cancel", (int id) => TypedResults.Ok(id > 0 ? throw new BookingRuleException(id) : id));
        bookings.MapPost("/{id:int}/pay", (int id) => TypedResults.Ok(id > 0 ? throw new PaymentDeclinedException(id) : id));
        bookings.MapPost("/{id:int}/sync", (int id) => TypedResults.Ok(id > 0 ? throw new ChannelManagerBusyException(id) : id));
        bookings.MapGet("/{id:int}/invoice", (int id) => TypedResults.Ok(id > 0 ? throw new InvalidOperationException($"Invoice numbering for booking {id} overflowed") : id));
        bookings.MapGet("/{id:int}/voucher", (int id) => Results.StatusCode(StatusCodes.Status410Gone));
        bookings.MapGet("/{id:int}/quote", async (int id, ExchangeRatesClient rates, CancellationToken aborted) =>
            TypedResults.Ok(100m * await rates.GetRateAsync("EUR", aborted)));
        bookings.MapGet("/events", (CancellationToken aborted) => TypedResults.ServerSentEvents(BookingEvents(aborted), eventType: "booking"));
        bookings.MapGet("/live", (ILoggerFactory loggers, CancellationToken aborted) =>
            TypedResults.ServerSentEvents(LiveBookingEvents(loggers.CreateLogger("BookingFeed"), aborted), eventType: "booking"));
        bookings.Map("/desk", FrontDeskAsync);

        // The status page: its 410 template is missing, so re-executing into it fails.
        app.MapGet("/status/{code:int}", (int code) => code == StatusCodes.Status410Gone
            ? throw new FileNotFoundException("Status page template gone.html is missing")
            : Results.Content($"<h1>{code}</h1>", "text/html"));
        return app;
    }

    private static int UnusedLoopbackPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async IAsyncEnumerable<string> BookingEvents([EnumeratorCancellation] CancellationToken aborted)
    {
        for (var booking = 1; booking <= 3; booking++)
        {
            await Task.Yield();
            yield return $"booking {booking} confirmed";
        }

        throw new InvalidDataException("Booking event 4 has no room number");
    }

    private static async IAsyncEnumerable<string> LiveBookingEvents(ILogger log, [EnumeratorCancellation] CancellationToken aborted)
    {
        try
        {
            for (var booking = 1; ; booking++)
            {
                yield return $"booking {booking} confirmed";
                await Task.Delay(TimeSpan.FromMilliseconds(20), aborted);
            }
        }
        finally
        {
            log.LogInformation("Booking feed closed");
        }
    }

    /// <summary>
    /// The front desk's WebSocket, written as the ASP.NET Core documentation's echo sample is (receives without a
    /// cancellation token): it answers each command, and a "reprice" command fails.
    /// </summary>
    private static async Task FrontDeskAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[4096];
        while (true)
        {
            var received = await socket.ReceiveAsync(new ArraySegment<byte>(buffer), CancellationToken.None);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                return;
            }

            var command = Encoding.UTF8.GetString(buffer, 0, received.Count);
            if (command == "reprice")
            {
                throw new InvalidOperationException("Front desk cannot reprice a booking that is checked in");
            }

            await socket.SendAsync(Encoding.UTF8.GetBytes($"ok {command}"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
    }
}
