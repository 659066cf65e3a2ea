namespace ErrorHub.Storage;

/// <summary>
/// One configured store seen from each of its users: the schema step, ingest's writer, the readers'
/// issues, the projects and who may read them. Each implementation (SQLite, ClickHouse) splits along the
/// same seams; this record keeps the parts of one store together and owns whatever they share.
/// </summary>
internal sealed record ErrorHubStore(IStoreSchema Schema, IEventWriter Events, IIssueReader Issues, IProjectStore Projects, IAccessStore Access, IEventRetention Retention, IDisposable? Owner = null)
    : IDisposable
{
    public string Kind => Schema.Kind;

    /// <summary>What notifications read and write, and the issue states they depend on.</summary>
    public required NotificationStores Notifications { get; init; }

    /// <summary>Issue timelines: what people did to issues.</summary>
    public required IIssueHistory History { get; init; }

    /// <summary>Which issues were merged into which.</summary>
    public required IIssueMerges Merges { get; init; }

    /// <summary>Who bookmarked which issue.</summary>
    public required IIssueBookmarks Bookmarks { get; init; }

    /// <summary>The issue list's saved searches and pinned defaults.</summary>
    public required ISavedSearches SavedSearches { get; init; }

    /// <summary>The projects' releases.</summary>
    public required IReleaseReader Releases { get; init; }

    public void Dispose() => Owner?.Dispose();
}
