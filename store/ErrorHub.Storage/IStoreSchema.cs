namespace ErrorHub.Storage;

/// <summary>The store's tables: created at start-up by whichever server process comes first.</summary>
public interface IStoreSchema
{
    /// <summary>"sqlite" or "clickhouse".</summary>
    string Kind { get; }

    /// <summary>Creates tables and views if missing. Safe to call any number of times, concurrently from several processes.</summary>
    Task EnsureSchemaAsync(CancellationToken cancellationToken = default);

    /// <summary>Reads from the store's tables once: throws when the store cannot be reached or its schema is missing (readiness).</summary>
    Task CheckAsync(CancellationToken cancellationToken = default);
}
