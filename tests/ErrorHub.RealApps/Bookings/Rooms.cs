using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.RealApps.Bookings;

public sealed class RoomNotFoundException(int id) : Exception($"Room {id} does not exist");

public sealed record GetRoom(int Id) : IRequest<string>;

public sealed record CleanRoom(int Id) : IRequest<int>;

public sealed class GetRoomHandler : IRequestHandler<GetRoom, string>
{
    public async Task<string> Handle(GetRoom request, CancellationToken cancellationToken)
    {
        await Task.Yield();
        return request.Id < 100 ? $"room {request.Id}" : throw new RoomNotFoundException(request.Id);
    }
}

public sealed class CleanRoomHandler : IRequestHandler<CleanRoom, int>
{
    public async Task<int> Handle(CleanRoom request, CancellationToken cancellationToken)
    {
        await Task.Yield();
        throw new InvalidOperationException($"Housekeeping roster for room {request.Id} is empty");
    }
}

/// <summary>The Clean Architecture template's behavior: logs every failure at Error and throws it on.</summary>
public sealed class UnhandledExceptionBehaviour<TRequest, TResponse>(ILogger<TRequest> logger) : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        try
        {
            return await next();
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Request: Unhandled Exception for Request {Name} {@Request}", typeof(TRequest).Name, request);
            throw;
        }
    }
}

/// <summary>A behavior that logs each request before it runs, as the template's logging behaviour does.</summary>
public sealed class LoggingBehaviour<TRequest, TResponse>(ILogger<TRequest> logger) : IPipelineBehavior<TRequest, TResponse>
{
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("Request: {Name} {@Request}", typeof(TRequest).Name, request);
        }

        return next();
    }
}

/// <summary>Rooms, served through MediatR (5.1: registered by hand, as before its DI package) with two pipeline behaviors.</summary>
public static class Rooms
{
    public static IServiceCollection AddRooms(this IServiceCollection services) => services
        .AddScoped<ServiceFactory>(provider => provider.GetService!)
        .AddScoped<IMediator, Mediator>()
        .AddTransient<IRequestHandler<GetRoom, string>, GetRoomHandler>()
        .AddTransient<IRequestHandler<CleanRoom, int>, CleanRoomHandler>()
        .AddTransient(typeof(IPipelineBehavior<,>), typeof(LoggingBehaviour<,>))
        .AddTransient(typeof(IPipelineBehavior<,>), typeof(UnhandledExceptionBehaviour<,>));

    public static void MapRooms(this IEndpointRouteBuilder app)
    {
        var rooms = app.MapGroup("/rooms");
        rooms.MapGet("/{id:int}", async (int id, IMediator mediator) => TypedResults.Ok(await mediator.Send(new GetRoom(id))));
        rooms.MapPost("/{id:int}/clean", async (int id, IMediator mediator) => TypedResults.Ok(await mediator.Send(new CleanRoom(id))));
    }
}
