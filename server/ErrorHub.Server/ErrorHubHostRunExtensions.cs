using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>How both server hosts run: docs/deployment.md.</summary>
public static class ErrorHubHostRunExtensions
{
    /// <summary>
    /// Runs the host until it stops and returns the process's exit code. A start refused for a reason the operator must fix
    /// (a setting out of range, a ClickHouse that refused the user, its password or the cluster's name) ends the process
    /// with exit code 1 and one line on standard error saying what to change, instead of an unhandled exception (the
    /// runtime's abort, SIGABRT and a core dump under a service manager, with the stack trace printed once more). Any
    /// other failure is thrown as before: a bug keeps its stack trace. So does a store the process gave up creating tables on
    /// in the background (a schema newer than this build, a cluster node without ZooKeeper, ErrorHub:Store:SchemaWaitLimit).
    /// </summary>
    public static async Task<int> RunErrorHubAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Taken before the run: the host disposes its services when it stops.
        var schema = app.Services.GetService<StoreSchemaState>();
        try
        {
            await app.RunAsync();
            if (schema?.StartFailure is { } failure)
            {
                // Gave up creating the store's tables in the background, and stopped the host: a failed start all the same.
                await Console.Error.WriteLineAsync($"ErrorHub did not start: {failure.Message}");
                return 1;
            }

            return 0;
        }
        catch (Exception exception) when (IsMisconfiguration(exception))
        {
            // The host's loggers are disposed by now (RunAsync disposes the host): standard error is what is left, and
            // what a service manager's journal keeps.
            await Console.Error.WriteLineAsync($"ErrorHub did not start: {Explained(exception)}");
            return 1;
        }
    }

    /// <summary>
    /// Builds the host with <paramref name="build"/> (its services and its pipeline) and runs it as
    /// <see cref="RunErrorHubAsync(WebApplication)"/> does. Building reads settings too (whether this process is all-in-one, the
    /// data protection keys' directory, the store's options for its outage pages): a wrong one there ends the process the same
    /// way, exit code 1 and one line on standard error, not with the runtime's abort before the host runs.
    /// </summary>
    public static async Task<int> BuildAndRunErrorHubAsync(Func<WebApplication> build)
    {
        ArgumentNullException.ThrowIfNull(build);

        WebApplication app;
        try
        {
            app = build();
        }
        catch (Exception exception) when (IsMisconfiguration(exception))
        {
            await Console.Error.WriteLineAsync($"ErrorHub did not start: {Explained(exception)}");
            return 1;
        }

        return await app.RunErrorHubAsync();
    }

    /// <summary>
    /// A value the configuration binder could not convert names the key, the value and the type; why it could not (the
    /// format it expects, a number too large) is in the exception it wraps, the only one worth adding to that line.
    /// </summary>
    private static string Explained(Exception exception) =>
        IsUnconvertibleSetting(exception) && exception.GetBaseException() is { } why && why != exception
            ? $"{exception.Message} {why.Message}"
            : exception.Message;

    /// <summary>
    /// A setting the configuration binder could not convert to its option's type ('garbage' for a time span, a number past
    /// the type's range, 'yes' for true or false). The binder throws it from its own code, wrapping the converter's failure.
    /// </summary>
    private static bool IsUnconvertibleSetting(Exception exception) =>
        exception is InvalidOperationException { InnerException: not null } && exception.TargetSite?.DeclaringType == typeof(ConfigurationBinder);

    /// <summary>A wrong setting (validated at start, or one that is not a value of its type), or a ClickHouse that answered with a refusal rather than not at all.</summary>
    private static bool IsMisconfiguration(Exception exception) => exception switch
    {
        OptionsValidationException => true,
        StoreSchemaRefusedException => true,
        InvalidOperationException when IsUnconvertibleSetting(exception) => true,
        ClickHouseException clickHouse => clickHouse.StatusCode is not null,
        _ => false,
    };
}
