using ErrorHub.Storage.Events;

namespace ErrorHub.Storage;

/// <summary>
/// Where events, derived issues and the small relational data (projects and their keys) live.
/// Two implementations honour one contract (tests/ErrorHub.Storage.Tests): the embedded
/// SQLite store (default, zero setup) and ClickHouse (production).
/// </summary>
public interface IErrorHubStore
{
    /// <summary>"sqlite" or "clickhouse".</summary>
    string Kind { get; }

    /// <summary>Creates tables and views if missing. Safe to call any number of times, concurrently from several processes.</summary>
    Task EnsureSchemaAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores a batch in one write. An event id stored twice counts once in queries.</summary>
    Task InsertEventsAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default);

    /// <summary>One page of a project's issues (events grouped by fingerprint), sorted as asked.</summary>
    Task<IssuePage> GetIssuesAsync(IssueQuery query, CancellationToken cancellationToken = default);

    Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default);

    /// <summary>An issue's events, newest first.</summary>
    Task<IReadOnlyList<ErrorEvent>> GetEventsAsync(int projectId, string fingerprint, int limit, CancellationToken cancellationToken = default);

    Task<ErrorEvent?> GetEventAsync(int projectId, Guid eventId, CancellationToken cancellationToken = default);

    /// <summary>Creates the project or replaces its name and key.</summary>
    Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default);

    Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default);
}

public sealed record Project(int Id, string Name, string PublicKey, DateTimeOffset CreatedAt);

public enum IssueSort
{
    LastSeen,
    FirstSeen,
    Events,
    Users,
}

public sealed record IssueQuery(int ProjectId)
{
    public IssueSort Sort { get; init; } = IssueSort.LastSeen;
    public bool Descending { get; init; } = true;
    public int Offset { get; init; }
    public int Limit { get; init; } = 50;
}

public sealed record IssuePage(IReadOnlyList<IssueSummary> Items, long TotalCount);

/// <summary>An issue as the list shows it: derived from its events, never written by ingest.</summary>
public sealed record IssueSummary(
    int ProjectId,
    string Fingerprint,
    string Title,
    string Culprit,
    string Level,
    long EventCount,
    long UserCount,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen);
