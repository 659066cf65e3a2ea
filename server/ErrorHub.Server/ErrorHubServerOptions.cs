using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Scrubbing;
using ErrorHub.Storage;
using Microsoft.Extensions.Configuration;

namespace ErrorHub.Server;

/// <summary>
/// Every setting of an ErrorHub server process (the dashboard and the stand-alone ingest), bound from
/// the <c>ErrorHub</c> configuration section and validated when the host starts: a wrong value stops
/// the start with a message naming the setting. docs/configuration.md lists each key.
/// </summary>
public sealed class ErrorHubServerOptions
{
    public const string SectionName = "ErrorHub";

    /// <summary>
    /// The address people and apps reach this server at, e.g. <c>https://errors.example.com/</c> (a path
    /// base is kept). Every link and DSN the server shows is built from it. When unset, the address the
    /// server listens on, which is right only when nothing (a proxy, a container port map) stands between.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>
    /// Where SDKs send events, when that is not <see cref="PublicUrl"/>: the address of the stand-alone
    /// ingest services (their load balancer). DSNs are built from it. Default: <see cref="PublicUrl"/>.
    /// </summary>
    public string? IngestUrl { get; set; }

    /// <summary>
    /// The dashboard also receives events and creates the configured project (default true), so one
    /// process runs everything. Set false when stand-alone ingest services do that. The ingest host ignores it.
    /// </summary>
    public bool AllInOne { get; set; } = true;

    /// <summary>Where the embedded store keeps its file; a relative path is under the content root. Default <c>.errorhub</c>.</summary>
    public string DataDirectory { get; set; } = ".errorhub";

    /// <summary>The store (<c>ErrorHub:Store</c>): the embedded SQLite file or ClickHouse.</summary>
    public StoreOptions Store { get; set; } = new();

    /// <summary>What ingest accepts (<c>ErrorHub:Ingest</c>): body sizes, decoding limits, memory in flight.</summary>
    public IngestLimits Ingest { get; set; } = new();

    /// <summary>How long events are kept (<c>ErrorHub:Retention</c>): 90 days unless a project says otherwise.</summary>
    public RetentionOptions Retention { get; set; } = new();

    /// <summary>What ingest removes from events before storing them (<c>ErrorHub:Scrubbing</c>).</summary>
    public ScrubbingOptions Scrubbing { get; set; } = new();

    /// <summary>The project made sure of at start-up (<c>ErrorHub:Project</c>).</summary>
    public ProjectBootstrapOptions Project { get; set; } = new();

    /// <summary>The first admin and an API token, made at start-up (<c>ErrorHub:Admin</c>; the dashboard reads it).</summary>
    public AdminBootstrapOptions Admin { get; set; } = new();

    /// <summary>Sign-in: lockout, invitations, session length (<c>ErrorHub:Access</c>; the dashboard reads it).</summary>
    public AccessOptions Access { get; set; } = new();

    /// <summary>The reverse proxies whose forwarded headers are believed (<c>ErrorHub:ForwardedHeaders</c>); none by default.</summary>
    public ForwardedHeadersTrustOptions ForwardedHeaders { get; set; } = new();

    /// <summary>The options as bound from <paramref name="configuration"/>, for decisions a host makes before its services exist.</summary>
    public static ErrorHubServerOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetSection(SectionName).Get<ErrorHubServerOptions>() ?? new ErrorHubServerOptions();
    }
}
