using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.RealApps.Layered;

// An API in the layered ("clean architecture") style many teams start from: endpoints send commands through a small
// mediator whose pipeline validates them and logs any failure before throwing it on, handlers work on an EF Core
// context, and an IExceptionHandler turns validation and not-found exceptions into 400 and 404. Our own minimal
// version of the pattern, not any template's code.

public sealed class TodoList
{
    public int Id { get; set; }

    public required string Title { get; set; }

    /// <summary>Required by the model: a list without a colour is refused by the store when saved.</summary>
    public string? Colour { get; set; }
}

public sealed class TodoDb(DbContextOptions<TodoDb> options) : DbContext(options)
{
    public DbSet<TodoList> Lists => Set<TodoList>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<TodoList>().Property(list => list.Colour).IsRequired();
}

public sealed class ValidationException(string property, string error) : Exception("One or more validation failures have occurred.")
{
    public IDictionary<string, string[]> Errors { get; } = new Dictionary<string, string[]> { [property] = [error] };
}

public sealed class NotFoundException(string entity, int key) : Exception($"Entity \"{entity}\" ({key}) was not found.");

public interface ICommand<TResult>;

public sealed record CreateTodoList(string Title, string ColourCode) : ICommand<int>;

public sealed record DeleteTodoList(int Id) : ICommand<bool>;

/// <summary>The mediator: every command runs through the same pipeline (log and rethrow, then validate) to its handler.</summary>
public sealed class Sender(TodoDb db, ILoggerFactory loggers)
{
    // The category the pipeline behaviour of such apps logs under (theirs is the behaviour's or the request's type).
    private readonly ILogger _logger = loggers.CreateLogger("TodoLists.Application.UnhandledExceptionBehaviour");

    private static readonly Dictionary<string, string> Colours = new(StringComparer.OrdinalIgnoreCase) { ["#5B8DEF"] = "Blue", ["#FF5733"] = "Orange" };

    public async Task<TResult> Send<TResult>(ICommand<TResult> command)
    {
        try
        {
            Validate(command);
            return (TResult)(object)(command switch
            {
                CreateTodoList create => await CreateAsync(create),
                DeleteTodoList delete => await DeleteAsync(delete),
                _ => throw new NotSupportedException(command.GetType().Name),
            });
        }
        catch (Exception exception)
        {
            // The pipeline's "unhandled exception" behaviour: log with the request, then let the web layer decide.
            _logger.LogError(exception, "Request {Name} failed: {@Command}", command.GetType().Name, command);
            throw;
        }
    }

    private static void Validate(object command)
    {
        if (command is CreateTodoList { Title.Length: 0 })
        {
            throw new ValidationException("Title", "Title is required.");
        }
    }

    private async Task<object> CreateAsync(CreateTodoList command)
    {
        var list = new TodoList { Title = command.Title, Colour = Colours.GetValueOrDefault(command.ColourCode) };
        db.Lists.Add(list);
        await db.SaveChangesAsync(); // EF Core logs a failed save at Error, then throws it on
        return list.Id;
    }

    private async Task<object> DeleteAsync(DeleteTodoList command)
    {
        var list = await db.Lists.FindAsync(command.Id) ?? throw new NotFoundException(nameof(TodoList), command.Id);
        db.Lists.Remove(list);
        await db.SaveChangesAsync();
        return true;
    }
}

/// <summary>Maps what the app expects to go wrong to problem details; anything else is left to UseExceptionHandler.</summary>
public sealed class ProblemDetailsExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails? problem = exception switch
        {
            ValidationException invalid => new ValidationProblemDetails(invalid.Errors) { Status = StatusCodes.Status400BadRequest },
            NotFoundException missing => new ProblemDetails { Status = StatusCodes.Status404NotFound, Detail = missing.Message },
            _ => null,
        };
        if (problem is null)
        {
            return false;
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        await httpContext.Response.WriteAsJsonAsync(problem, cancellationToken);
        return true;
    }
}

public static class LayeredServices
{
    public static IServiceCollection AddTodoLists(this IServiceCollection services) =>
        services.AddDbContext<TodoDb>(options => options.UseInMemoryDatabase($"todo-lists-{Guid.NewGuid():N}"))
            .AddScoped<Sender>()
            .AddExceptionHandler<ProblemDetailsExceptionHandler>();
}
