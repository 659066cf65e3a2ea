using ClickHouse.Driver;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Saved searches and pins as ReplacingMergeTrees: every change is a new row (a deletion one with <c>deleted</c> 1, an
/// unpin one with an empty <c>pinned</c>); reads take the latest row of each. One dashboard process writes them: its
/// lock makes the name and count checks and the write one step.
/// </summary>
internal sealed class ClickHouseSavedSearches(ClickHouseClient client, ClickHouseNotificationSchema schema) : ISavedSearches, IDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public void Dispose() => _writeLock.Dispose();

    public async Task<IReadOnlyList<SavedSearch>> GetSearchesAsync(int projectId, Guid userId, CancellationToken cancellationToken = default) =>
        SavedSearchRules.InListOrder(await ReadAsync(projectId, $"search_owner IN ('', {ClickHouseSql.Literal(userId)})", cancellationToken));

    public async Task<SavedSearch?> GetSearchAsync(int projectId, Guid searchId, CancellationToken cancellationToken = default) =>
        (await ReadAsync(projectId, $"id = {ClickHouseSql.Literal(searchId)}", cancellationToken)).SingleOrDefault();

    public async Task<SavedSearchChange> CreateAsync(SavedSearch search, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);
        SavedSearchRules.Validate(search.Name, search.Query);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var result = SavedSearchRules.Check(search, await OwnersAsync(search.ProjectId, search.OwnerId, cancellationToken), isNew: true);
            if (result == SavedSearchChange.Done)
            {
                await client.InsertAsync(schema.SavedSearches, [new ClickHouseSavedSearchRow(search, deleted: false, RowVersion.Next())], cancellationToken);
            }

            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<SavedSearchChange> UpdateAsync(int projectId, Guid searchId, string name, string query, CancellationToken cancellationToken = default)
    {
        SavedSearchRules.Validate(name, query);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (await GetSearchAsync(projectId, searchId, cancellationToken) is not { } stored)
            {
                return SavedSearchChange.NotFound;
            }

            var changed = stored with { Name = name, Query = query };
            var result = SavedSearchRules.Check(changed, await OwnersAsync(projectId, stored.OwnerId, cancellationToken), isNew: false);
            if (result == SavedSearchChange.Done)
            {
                await client.InsertAsync(schema.SavedSearches, [new ClickHouseSavedSearchRow(changed, deleted: false, RowVersion.Next())], cancellationToken);
            }

            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<bool> DeleteAsync(int projectId, Guid searchId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (await GetSearchAsync(projectId, searchId, cancellationToken) is not { } stored)
            {
                return false;
            }

            await client.InsertAsync(schema.SavedSearches, [new ClickHouseSavedSearchRow(stored, deleted: true, RowVersion.Next())], cancellationToken);
            var pinnedBy = await PinsAsync($"project_id = {ClickHouseSql.Literal(projectId)}", $"search_pinned = {ClickHouseSql.Literal(searchId)}", cancellationToken);
            await UnpinAsync(pinnedBy, at, cancellationToken);
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<string?> GetPinAsync(int projectId, Guid userId, CancellationToken cancellationToken = default)
    {
        var pins = await client.QueryAsync(
            $"""
            SELECT argMax(pinned, version) AS search_pinned
            FROM {schema.PinnedSearches}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND user_id = {ClickHouseSql.Literal(userId)}
            GROUP BY project_id, user_id
            HAVING search_pinned != ''
            """,
            row => row.GetProperty("search_pinned").GetString() ?? "",
            cancellationToken);
        return pins.Count == 0 ? null : pins[0];
    }

    public Task SetPinAsync(int projectId, Guid userId, string? pinned, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        SavedSearchRules.ValidatePin(pinned);
        return client.InsertAsync(schema.PinnedSearches, [new ClickHousePinnedSearchRow(projectId, userId.ToString("D"), pinned ?? "", at, RowVersion.Next())], cancellationToken);
    }

    public async Task ForgetProjectAsync(int projectId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var searches = await ReadAsync(projectId, "1", cancellationToken);
            if (searches.Count > 0)
            {
                await client.InsertAsync(schema.SavedSearches, [.. searches.Select(search => new ClickHouseSavedSearchRow(search, deleted: true, RowVersion.Next()))], cancellationToken);
            }

            await UnpinAsync(await PinsAsync($"project_id = {ClickHouseSql.Literal(projectId)}", "search_pinned != ''", cancellationToken), at, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private Task<IReadOnlyList<SavedSearch>> OwnersAsync(int projectId, Guid? ownerId, CancellationToken cancellationToken) =>
        ReadAsync(projectId, $"search_owner = {ClickHouseSql.Quote(SavedSearchRules.OwnerText(ownerId))}", cancellationToken);

    /// <summary>The project's saved searches, as their latest rows say, that are not deleted and match <paramref name="having"/>.</summary>
    private Task<IReadOnlyList<SavedSearch>> ReadAsync(int projectId, string having, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT id, argMax(owner_id, version) AS search_owner, argMax(name, version) AS search_name, argMax(query, version) AS search_query,
                   argMax(created_by, version) AS search_creator, toUnixTimestamp(argMax(created_at, version)) AS search_created, argMax(deleted, version) AS search_deleted
            FROM {schema.SavedSearches}
            WHERE project_id = {ClickHouseSql.Literal(projectId)}
            GROUP BY id
            HAVING search_deleted = 0 AND {having}
            """,
            row => new SavedSearch(
                Guid.Parse(row.GetProperty("id").GetString()!),
                projectId,
                SavedSearchRules.OwnerFromText(row.GetProperty("search_owner").GetString() ?? ""),
                row.GetProperty("search_name").GetString() ?? "",
                row.GetProperty("search_query").GetString() ?? "",
                Guid.Parse(row.GetProperty("search_creator").GetString()!),
                DateTimeOffset.FromUnixTimeSeconds(ClickHouseClient.ReadInt64(row.GetProperty("search_created")))),
            cancellationToken);

    private Task<IReadOnlyList<(int ProjectId, string UserId)>> PinsAsync(string where, string having, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT project_id, user_id, argMax(pinned, version) AS search_pinned
            FROM {schema.PinnedSearches}
            WHERE {where}
            GROUP BY project_id, user_id
            HAVING {having}
            """,
            row => ((int)ClickHouseClient.ReadInt64(row.GetProperty("project_id")), row.GetProperty("user_id").GetString() ?? ""),
            cancellationToken);

    private async Task UnpinAsync(IReadOnlyList<(int ProjectId, string UserId)> pins, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (pins.Count > 0)
        {
            await client.InsertAsync(schema.PinnedSearches, [.. pins.Select(pin => new ClickHousePinnedSearchRow(pin.ProjectId, pin.UserId, "", at, RowVersion.Next()))], cancellationToken);
        }
    }
}

/// <summary>One row of <c>saved_searches</c>.</summary>
internal sealed class ClickHouseSavedSearchRow(SavedSearch search, bool deleted, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)search.ProjectId);
    [ClickHouseColumn(Name = "id", Type = "String")] public string Id => search.Id.ToString("D");
    [ClickHouseColumn(Name = "owner_id", Type = "String")] public string OwnerId => SavedSearchRules.OwnerText(search.OwnerId);
    [ClickHouseColumn(Name = "name", Type = "String")] public string Name => search.Name;
    [ClickHouseColumn(Name = "query", Type = "String")] public string Query => search.Query;
    [ClickHouseColumn(Name = "created_by", Type = "String")] public string CreatedBy => search.CreatedBy.ToString("D");
    [ClickHouseColumn(Name = "created_at", Type = "DateTime('UTC')")] public DateTimeOffset CreatedAt => ClickHouseEventRow.ClampToDateTime(search.CreatedAt);
    [ClickHouseColumn(Name = "deleted", Type = "UInt8")] public byte Deleted => deleted ? (byte)1 : (byte)0;
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}

/// <summary>One row of <c>pinned_searches</c>: an empty <c>pinned</c> is no pin.</summary>
internal sealed class ClickHousePinnedSearchRow(int projectId, string userId, string pinned, DateTimeOffset pinnedAt, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)projectId);
    [ClickHouseColumn(Name = "user_id", Type = "String")] public string UserId => userId;
    [ClickHouseColumn(Name = "pinned", Type = "String")] public string Pinned => pinned;
    [ClickHouseColumn(Name = "pinned_at", Type = "DateTime('UTC')")] public DateTimeOffset PinnedAt => ClickHouseEventRow.ClampToDateTime(pinnedAt);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}
