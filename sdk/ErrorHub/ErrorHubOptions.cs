using Microsoft.Extensions.Logging;

namespace ErrorHub;

/// <summary>
/// Settings of the ErrorHub SDK. Bound from the <c>ErrorHub</c> configuration section (appsettings,
/// <c>ErrorHub__Dsn</c> environment variables, command line) and from the delegate given to
/// <c>AddErrorHub</c>. See docs/configuration.md.
/// </summary>
public sealed class ErrorHubOptions
{
    /// <summary>The configuration section the options are read from.</summary>
    public const string SectionName = "ErrorHub";

    /// <summary>
    /// Where to send events: <c>http(s)://&lt;publicKey&gt;@&lt;host&gt;[:port]/&lt;projectId&gt;</c>.
    /// Without a DSN the SDK is disabled and costs nothing.
    /// </summary>
    public string? Dsn { get; set; }

    /// <summary>Set to false to disable the SDK even with a DSN.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Deployment environment, e.g. "production". Defaults to the host environment name.</summary>
    public string? Environment { get; set; }

    /// <summary>Release of the app. Defaults to the entry assembly's informational version.</summary>
    public string? Release { get; set; }

    /// <summary>Defaults to the machine name.</summary>
    public string? ServerName { get; set; }

    /// <summary>Attach the signed-in user's id, name and email claims to events.</summary>
    public bool CaptureUser { get; set; } = true;

    /// <summary>Attach the client's IP address to events (personal data: off by default).</summary>
    public bool CaptureClientIp { get; set; }

    /// <summary>
    /// Headers whose values are never sent (replaced by "[Filtered]"). Matching ignores case.
    /// Authorization, Cookie and Set-Cookie are always filtered, whatever this list says.
    /// </summary>
    public ISet<string> ScrubbedHeaders { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token", "X-ErrorHub-Key",
    };

    /// <summary>
    /// Namespace prefixes whose frames are not the app's own code, for the in-app flag used by grouping
    /// and the dashboard. "System", Microsoft's products ("Microsoft.AspNetCore", "Microsoft.Extensions",
    /// "Microsoft.EntityFrameworkCore", ...; docs/sdk.md lists them) and the SDK's own assemblies are always excluded;
    /// any other "Microsoft.X" namespace is taken for the app's.
    /// </summary>
    public IList<string> InAppExclude { get; } = new List<string>();

    /// <summary>
    /// Namespace prefixes whose frames are the app's own code whatever <see cref="InAppExclude"/> and the built-in
    /// exclusions say: an app that lives in one of Microsoft's product namespaces, or ships its code under a
    /// library's name. An include wins over every exclude; the SDK's own assemblies are never the app's.
    /// </summary>
    public IList<string> InAppInclude { get; } = new List<string>();

    /// <summary>
    /// Called for every event before it is queued: change it, or return null to drop it. The hint carries the
    /// original exception and, inside an HTTP request, the request's <c>HttpContext</c> and final status code.
    /// Exceptions thrown by the callback are swallowed (the event is sent unchanged).
    /// </summary>
    public Func<ErrorHubEvent, ErrorHubHint, ErrorHubEvent?>? BeforeSend { get; set; }

    /// <summary>
    /// Report exceptions that the app handled: those whose request ended with a status below 500 (a
    /// <c>NotFoundException</c> turned into a 404). Off by default: the decision is taken when the response
    /// completes. Exceptions captured with <see cref="IErrorHubClient.CaptureException"/> are always reported.
    /// </summary>
    public bool ReportHandledExceptions { get; set; }

    /// <summary>
    /// Log entries without an exception become events from this level up (through the ErrorHub logger provider).
    /// <see cref="LogLevel.None"/> (the default) makes no events from log messages; entries of
    /// <see cref="LogLevel.Error"/> and above with an exception always become events.
    /// </summary>
    public LogLevel MinimumEventLevel { get; set; } = LogLevel.None;

    /// <summary>Log entries from this level up are kept as breadcrumbs of the request or flow they belong to.</summary>
    public LogLevel MinimumBreadcrumbLevel { get; set; } = LogLevel.Information;

    /// <summary>Most breadcrumbs kept per request or flow (the oldest go first) and attached to an event.</summary>
    public int MaxBreadcrumbs { get; set; } = 50;

    /// <summary>
    /// Most events waiting to be sent; when full, new events are dropped (and counted). An exception captured while it is
    /// full is refused before an event is made of it: <see cref="BeforeSend"/> does not see it.
    /// </summary>
    public int MaxQueueSize { get; set; } = 1000;

    /// <summary>
    /// Most events sent in one request (at most 1000, ingest's default limit). Batches are also bounded by
    /// <see cref="MaxBatchBytes"/>, and only fill up in a burst: a lone event still goes at once.
    /// </summary>
    public int MaxBatchSize { get; set; } = 1000;

    /// <summary>
    /// Most bytes of events (MessagePack, before gzip) in one request. An event larger than this on its own is dropped
    /// and counted as <c>too_large</c>. Keep it below the server's decompressed-body limit (16 MiB by default).
    /// </summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long the sender waits for more events after the first one before it sends a batch. Zero (the default)
    /// sends as soon as the sender is free; under load, what arrives during a send forms the next batch anyway.
    /// A flush never waits for it.
    /// </summary>
    public TimeSpan BatchDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// A directory where batches wait on disk while ingest is unreachable or failing, so they survive a restart and
    /// are sent, oldest first, once ingest answers again. Unset (the default): no disk is used, and a batch is given
    /// up after its retries (counted as <c>send_failed</c>). Processes may share a directory: each file is sent once.
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Most bytes kept in <see cref="CacheDirectory"/>; past it the oldest batches are deleted (counted as <c>spool_full</c>).</summary>
    public long MaxCacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Timeout of one send request.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long the app's shutdown waits for queued events to be sent, in all (the host's stop, disposal and process
    /// exit share it). What is still unsent then goes to <see cref="CacheDirectory"/> when set; otherwise it is given
    /// up, logged with its count and counted as <c>shutdown</c>.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
