using ErrorHub.Dashboard.Access;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Sqlite;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.Extensions.Options;

namespace ErrorHub.Dashboard;

/// <summary>
/// A request that meets a ClickHouse store it cannot read (its node stopped, a timeout, a database missing on a node
/// restarted empty), or a SQLite file it cannot use (locked by another process, read-only, its disk full), answers 503
/// with <c>Retry-After</c> and a page (JSON under <c>/api/</c>) that says so, instead of an empty 500: every page reads
/// the store, the sign-in cookie's check included, so without this an outage of the node the dashboard points at shows
/// nothing but a blank error. The cause goes to the server's log, not to the visitor (who may
/// not be signed in): the first failure with its exception, then at most one line a minute, and one when reads work again.
/// </summary>
internal static partial class StoreOutagePages
{
    internal const string RetryAfterSeconds = "5";

    /// <summary>Goes before authentication, whose cookie check reads the store.</summary>
    public static IApplicationBuilder UseStoreOutagePages(this IApplicationBuilder app) =>
        // Read when the pipeline is built, at host start, not here: a wrong store setting then ends the start with exit code 1
        // and the validator's line (RunErrorHubAsync), not with an abort before the host runs.
        app.Use(next =>
        {
            var services = app.ApplicationServices;
            var outage = new OutageLog(
                services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StoreOutagePages).FullName!),
                services.GetRequiredService<TimeProvider>());
            var storeOptions = services.GetRequiredService<IOptions<StoreOptions>>().Value;
            var schema = services.GetRequiredService<StoreSchemaState>();
            return context => OutagePageAsync(context, next, outage, storeOptions, schema);
        });

    private static async Task OutagePageAsync(HttpContext context, RequestDelegate next, OutageLog outage, StoreOptions storeOptions, StoreSchemaState schema)
    {
        if (!schema.IsReady && NeedsTables(context))
        {
            // Started before the store could make its tables (it keeps trying, and its log says so once): every read
            // would fail, some with "Table ... doesn't exist", and the sign-in pages would offer what cannot be done.
            await WriteUnavailableAsync(context);
            return;
        }

        // A hung node answers nothing, a locked file lets no one write: each query of this request (and of the
        // interactive page's circuit it may open) waits at most this long, then fails into the 503 below or the page's
        // own "not answering" state, instead of holding the visitor for the whole RequestTimeout.
        BoundStoreWaits(storeOptions, forIngest: IsIngest(context));
        try
        {
            await next(context);
            if (context.Response.StatusCode < 500)
            {
                outage.Answered();
            }
        }
        catch (Exception exception) when (IsStoreOutage(exception) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            outage.Failed(context.Request.Path, exception);
            context.Response.Clear();
            await WriteUnavailableAsync(context);
        }
    }

    /// <summary>
    /// A ClickHouse node that cannot be read, or a SQLite file that cannot be used: above all one that another process holds
    /// a write lock on (a backup, a sqlite3 shell left in a transaction) past SQLite's busy timeout.
    /// </summary>
    private static bool IsStoreOutage(Exception exception) => exception is ClickHouseException || SqliteDatabase.IsUnavailable(exception);

    private static async Task WriteUnavailableAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds;
        if (AccessProblems.IsApiOrHub(context.Request))
        {
            await AccessProblems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "the store cannot be read right now; retry later");
            return;
        }

        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(Page);
    }

    /// <summary>
    /// Everything but the probes and metrics, the static files and the ingest endpoint (which answers its own 503 in the
    /// protocol's words).
    /// </summary>
    private static bool NeedsTables(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics")
            || Path.HasExtension(path.Value))
        {
            return false;
        }

        return !IsIngest(context);
    }

    private static bool IsIngest(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == "ErrorHubIngest";

    /// <summary>
    /// How long a page's (or an API request's) store calls may wait: ClickHouse to start answering each query
    /// (PageTimeout), and SQLite's write lock for each change (PageWriteTimeout). Ingest's commits keep SQLite's busy
    /// timeout of 30 seconds: under ordinary contention they wait rather than refuse a batch.
    /// </summary>
    private static void BoundStoreWaits(StoreOptions options, bool forIngest)
    {
        ClickHouseAnswerHandler.AnswerWithin.Value = options.ClickHouse.PageTimeout;
        SqliteDatabase.WriteWithin.Value = forIngest ? null : options.Sqlite.PageWriteTimeout;
    }

    /// <summary>
    /// The same bound for an interactive page's circuit: its events (clicks, navigation) arrive over the circuit's
    /// connection, in an async flow of their own, not in the HTTP request that set it above.
    /// </summary>
    internal sealed class PageTimeoutCircuitHandler(IOptions<StoreOptions> options) : CircuitHandler
    {
        private readonly StoreOptions _options = options.Value;

        public override Func<CircuitInboundActivityContext, Task> CreateInboundActivityHandler(Func<CircuitInboundActivityContext, Task> next) =>
            async context =>
            {
                BoundStoreWaits(_options, forIngest: false);
                await next(context);
            };
    }

    private const string Page = """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>ErrorHub: the store is not answering</title></head>
        <body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5">
        <h1>The store is not answering</h1>
        <p>ErrorHub cannot read its event store right now, so this page cannot be shown. Reload in a few seconds.</p>
        <p>If it persists: the server's log names the cause (the ClickHouse node this dashboard reads is stopped or
        unreachable, has lost its database, or could not yet create its tables), and the deployment guide says what to do.</p>
        </body>
        </html>
        """;

    /// <summary>The dashboard's words for <see cref="StoreOutageTracker"/>'s three moments.</summary>
    private sealed partial class OutageLog(ILogger logger, TimeProvider timeProvider)
    {
        private readonly StoreOutageTracker _tracker = new(timeProvider);

        public void Failed(PathString path, Exception exception)
        {
            var report = _tracker.Failed();
            switch (report.Moment)
            {
                case StoreOutageMoment.Began:
                    LogFailing(logger, path, exception);
                    break;
                case StoreOutageMoment.StillFailing:
                    LogStillFailing(logger, report.Failures, report.Duration, exception.Message);
                    break;
            }
        }

        public void Answered()
        {
            var report = _tracker.Succeeded();
            if (report.Moment == StoreOutageMoment.Recovered)
            {
                LogRecovered(logger, report.Failures, report.Duration);
            }
        }

        [LoggerMessage(1, LogLevel.Error, "The store cannot be read (at {Path}); pages answer 503 with Retry-After until it can. Further failures are summed up once a minute")]
        private static partial void LogFailing(ILogger logger, string path, Exception exception);

        [LoggerMessage(2, LogLevel.Warning, "The store still cannot be read: {Requests} requests answered 503 since it began {Duration} ago; latest: {Reason}")]
        private static partial void LogStillFailing(ILogger logger, long requests, TimeSpan duration, string reason);

        [LoggerMessage(3, LogLevel.Information, "The store answers again, after {Requests} requests answered 503 over {Duration}")]
        private static partial void LogRecovered(ILogger logger, long requests, TimeSpan duration);
    }
}
