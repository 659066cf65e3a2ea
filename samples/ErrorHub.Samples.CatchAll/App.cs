using ErrorHub;

namespace ErrorHub.Samples.CatchAll;

/// <summary>The app's own error handling: log, answer 500 as JSON, never let an exception escape.</summary>
internal sealed partial class CatchAllMiddleware(RequestDelegate next, ILogger<CatchAllMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (!context.Response.HasStarted)
        {
            LogUnhandled(logger, exception, context.Request.Path);
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await context.Response.WriteAsJsonAsync(new { error = "Something went wrong; we are on it.", trace = context.TraceIdentifier });
        }
    }

    [LoggerMessage(1, LogLevel.Error, "Unhandled exception on {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, PathString path);
}

/// <summary>The customers the app knows, by id; in a real app a cache in front of its database.</summary>
internal sealed class CustomerStore
{
    private readonly Dictionary<string, (string Name, string Email)> _customers = new(StringComparer.Ordinal)
    {
        ["c-7"] = ("Grace Hopper", "grace@customers.example"),
        ["c-8"] = ("Alan Kay", "alan@customers.example"),
    };

    public (string Name, string Email)? Find(string? id) => id is not null && _customers.TryGetValue(id, out var customer) ? customer : null;
}

/// <summary>
/// The user hook: this API has no sign-in (its callers pass <c>?customer=</c>), so the claims know nobody; the app's
/// own store knows the customer's name and email. Called on the capturing thread: it answers from memory.
/// </summary>
internal sealed class CustomerUserProvider(CustomerStore customers, IHttpContextAccessor http) : IErrorHubUserProvider
{
    public UserInfo? GetUser(UserInfo? fromContext)
    {
        var id = http.HttpContext?.Request.Query["customer"].ToString();
        return customers.Find(id) is { } customer
            ? new UserInfo { Id = id, Username = customer.Name, Email = customer.Email }
            : fromContext;
    }
}

internal sealed record Address(string City);

internal sealed record Order(int Id, Address? ShippingAddress);

internal static class OrderBook
{
    public static Order Find(int id) => new(id, id == 42 ? null : new Address("Lisbon"));
}
