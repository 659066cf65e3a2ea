using System.Text.Json;
using ClickHouse.Driver;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>Issue states as a ReplacingMergeTree: every change is a new row; reads take the latest by version.</summary>
internal sealed class ClickHouseIssueStates(ClickHouseClient client, ClickHouseNotificationSchema schema) : IIssueStates
{
    /// <summary>
    /// <paramref name="table"/> (<c>issue_states</c>) as its latest row per issue, for a condition on the state's columns
    /// (<c>WHERE</c>, never <c>PREWHERE</c>: that would run before the rows are folded). <c>FINAL</c> folds the rows by the
    /// table's own order (project, fingerprint) as it reads them: grouping by fingerprint with <c>argMax</c> per column built a
    /// hash table of every state of the project and cost several times more (docs/benchmarks.md §100).
    /// </summary>
    public static string LatestRows(string table) => $"{table} FINAL";

    public Task SetStateAsync(IssueState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        return client.InsertAsync(schema.IssueStates, [new ClickHouseIssueStateRow(state, RowVersion.Next())], cancellationToken);
    }

    public Task SetStatesAsync(IReadOnlyCollection<IssueState> states, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(states);
        return states.Count == 0
            ? Task.CompletedTask
            : client.InsertAsync(schema.IssueStates, [.. states.Select(state => new ClickHouseIssueStateRow(state ?? throw new ArgumentException("A state is null.", nameof(states)), RowVersion.Next()))], cancellationToken);
    }

    public async Task<IssueState?> GetStateAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var states = await ReadAsync(projectId, $"AND fingerprint = {ClickHouseSql.Quote(fingerprint)}", "", cancellationToken);
        return states.Count == 0 ? null : states[0];
    }

    public Task<IReadOnlyList<IssueState>> GetStatesAsync(int projectId, IssueStatus? status = null, CancellationToken cancellationToken = default) =>
        ReadAsync(projectId, "", status is { } wanted ? $"HAVING state_status = {ClickHouseSql.Quote(StoredNames.Of(wanted))}" : "", cancellationToken);

    // Fingerprints of a page at a time: each read names at most this many, so no statement outgrows the server's limits.
    private const int FingerprintsPerRead = 1_000;

    public async Task<IReadOnlyList<IssueState>> GetStatesOfAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        var found = new List<IssueState>();
        foreach (var chunk in fingerprints.Distinct(StringComparer.Ordinal).Chunk(FingerprintsPerRead))
        {
            found.AddRange(await ReadAsync(projectId, $"AND fingerprint IN ({string.Join(", ", chunk.Select(ClickHouseSql.Quote))})", "", cancellationToken));
        }

        return [.. found.OrderBy(state => state.Fingerprint, StringComparer.Ordinal)];
    }

    // The project's states are grouped where they are stored; only those changed in the window cross the wire.
    public Task<IReadOnlyList<IssueState>> GetStatesChangedAsync(int projectId, IssueStatus status, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
        ReadAsync(
            projectId,
            "",
            $"""
            HAVING state_status = {ClickHouseSql.Quote(StoredNames.Of(status))}
                AND state_changed >= {ClickHouseSql.Literal(StoreTime.ToUnixSecondsCeiling(from))} AND state_changed < {ClickHouseSql.Literal(StoreTime.ToUnixSecondsCeiling(to))}
            """,
            cancellationToken);

    // Release names of a page at a time, as fingerprints are. The "next release" is compared as the triage's JSON writes it
    // (quoted, escaped as the writer escapes), so any release name matches without unescaping on the server.
    public async Task<IReadOnlyList<IssueState>> GetStatesResolvedForReleasesAsync(int projectId, IReadOnlyCollection<string> releases, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(releases);
        var found = new List<IssueState>();
        foreach (var chunk in releases.Where(release => !string.IsNullOrEmpty(release)).Distinct(StringComparer.Ordinal).Chunk(FingerprintsPerRead))
        {
            var names = string.Join(", ", chunk.Select(ClickHouseSql.Quote));
            var written = string.Join(", ", chunk.Select(release => ClickHouseSql.Quote(IssueTriageJson.StringToken(release))));
            found.AddRange(await ReadAsync(
                projectId,
                "",
                $"""
                HAVING state_status = {ClickHouseSql.Quote(StoredNames.Of(IssueStatus.Resolved))}
                    AND (state_release IN ({names})
                         OR visitParamExtractRaw(state_triage, {ClickHouseSql.Quote(IssueTriageJson.ResolvedAfterReleaseField)}) IN ({written}))
                """,
                cancellationToken));
        }

        return [.. found.DistinctBy(state => state.Fingerprint, StringComparer.Ordinal).OrderBy(state => state.Fingerprint, StringComparer.Ordinal)];
    }

    // The names as the triage's JSON writes them (quoted, escaped), read back here by the same JSON reader that reads the state.
    public async Task<IReadOnlyList<string>> GetReleasesResolvedAfterAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var written = await client.QueryAsync(
            $"""
            SELECT DISTINCT visitParamExtractRaw(triage, {ClickHouseSql.Quote(IssueTriageJson.ResolvedAfterReleaseField)}) AS after_release
            FROM {LatestRows(schema.IssueStates)}
            WHERE project_id = {ClickHouseSql.Literal(projectId)}
              AND status = {ClickHouseSql.Quote(StoredNames.Of(IssueStatus.Resolved))}
              AND visitParamHas(triage, {ClickHouseSql.Quote(IssueTriageJson.ResolvedAfterReleaseField)})
            """,
            row => row.GetProperty("after_release").GetString() ?? "",
            cancellationToken);
        return [.. written.Select(IssueTriageJson.ReadStringToken).OfType<string>().Where(release => release.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    // The latest row's triage names an assignee, or an ignore's end time; a false match only reads a state more.
    public Task<IReadOnlyList<IssueState>> GetAssignedOrTimedStatesAsync(int projectId, CancellationToken cancellationToken = default) =>
        client.QueryAsync(
            $"""
            SELECT
                fingerprint,
                status AS state_status,
                toUnixTimestamp(changed_at) AS state_changed,
                resolved_in_release AS state_release,
                triage AS state_triage
            FROM {LatestRows(schema.IssueStates)}
            WHERE project_id = {ClickHouseSql.Literal(projectId)}
              AND (visitParamHas(triage, {ClickHouseSql.Quote(IssueTriageJson.AssigneeIdField)})
                   OR (status = {ClickHouseSql.Quote(StoredNames.Of(IssueStatus.Ignored))} AND visitParamHas(triage, {ClickHouseSql.Quote(IssueTriageJson.IgnoredUntilField)})))
            ORDER BY fingerprint
            """,
            row => Read(projectId, row),
            cancellationToken);

    private Task<IReadOnlyList<IssueState>> ReadAsync(int projectId, string where, string having, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT
                fingerprint,
                argMax(status, version) AS state_status,
                toUnixTimestamp(argMax(changed_at, version)) AS state_changed,
                argMax(resolved_in_release, version) AS state_release,
                argMax(triage, version) AS state_triage
            FROM {schema.IssueStates}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} {where}
            GROUP BY fingerprint
            {having}
            ORDER BY fingerprint
            """,
            row => Read(projectId, row),
            cancellationToken);

    private static IssueState Read(int projectId, JsonElement row) => IssueTriageJson.Apply(new(
        projectId,
        row.GetProperty("fingerprint").GetString() ?? "",
        StoredNames.ParseIssueStatus(row.GetProperty("state_status").GetString() ?? ""),
        StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("state_changed"))))
    {
        ResolvedInRelease = row.GetProperty("state_release").GetString() is { Length: > 0 } release ? release : null,
    }, row.GetProperty("state_triage").GetString());
}

/// <summary>One row of <c>issue_states</c>.</summary>
internal sealed class ClickHouseIssueStateRow(IssueState state, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)state.ProjectId);
    [ClickHouseColumn(Name = "fingerprint", Type = "String")] public string Fingerprint => state.Fingerprint;
    [ClickHouseColumn(Name = "status", Type = "String")] public string Status => StoredNames.Of(state.Status);
    [ClickHouseColumn(Name = "changed_at", Type = "DateTime('UTC')")] public DateTimeOffset ChangedAt => ClickHouseEventRow.ClampToDateTime(state.ChangedAt);
    [ClickHouseColumn(Name = "resolved_in_release", Type = "String")] public string ResolvedInRelease => state.ResolvedInRelease ?? "";
    [ClickHouseColumn(Name = "triage", Type = "String")] public string Triage => IssueTriageJson.Serialize(state);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}
