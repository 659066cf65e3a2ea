namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Releases on ClickHouse: three aggregate queries however many releases there are (the page, the new issues of
/// the page's releases, the total), each one pass over the project's release and time columns.
/// </summary>
internal sealed class ClickHouseReleaseReader(ClickHouseClient client, ClickHouseSchema schema, ClickHouseMergeCache merges) : IReleaseReader
{
    public async Task<ReleasePage> GetReleasesAsync(ReleaseQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var project = ClickHouseSql.Literal(query.ProjectId);
        var page = await client.QueryAsync(
            $"""
            SELECT release, toUnixTimestamp(min(timestamp)) AS first_seen, toUnixTimestamp(max(timestamp)) AS last_seen, count() AS events
            FROM {schema.Events}
            WHERE project_id = {project} AND release != ''
            GROUP BY release
            ORDER BY first_seen DESC, release
            LIMIT {ClickHouseSql.Literal(query.Offset)}, {ClickHouseSql.Literal(query.Limit)}
            """,
            row => (
                Release: row.GetProperty("release").GetString() ?? "",
                FirstSeen: ClickHouseClient.ReadInt64(row.GetProperty("first_seen")),
                LastSeen: ClickHouseClient.ReadInt64(row.GetProperty("last_seen")),
                Events: ClickHouseClient.ReadInt64(row.GetProperty("events"))),
            cancellationToken);

        var newIssues = new Dictionary<string, long>(StringComparer.Ordinal);
        if (page.Count > 0)
        {
            var keys = await merges.KeysAsync(query.ProjectId, cancellationToken);
            foreach (var (release, issues) in await client.QueryAsync(
                $"""
                SELECT first_release, count() AS issues
                FROM
                (
                    SELECT {keys.Key()} AS issue_key, argMin(release, timestamp) AS first_release
                    FROM {schema.Events}
                    WHERE project_id = {project}
                    GROUP BY issue_key
                )
                WHERE first_release IN ({string.Join(", ", page.Select(row => ClickHouseSql.Quote(row.Release)))})
                GROUP BY first_release
                """,
                row => (row.GetProperty("first_release").GetString() ?? "", ClickHouseClient.ReadInt64(row.GetProperty("issues"))),
                cancellationToken))
            {
                newIssues[release] = issues;
            }
        }

        var total = await client.QueryAsync(
            $"SELECT uniqExact(release) AS total FROM {schema.Events} WHERE project_id = {project} AND release != ''",
            row => ClickHouseClient.ReadInt64(row.GetProperty("total")),
            cancellationToken);

        return new ReleasePage(
            [.. page.Select(row => new ReleaseSummary(row.Release, StoreTime.FromUnixSeconds(row.FirstSeen), StoreTime.FromUnixSeconds(row.LastSeen), row.Events, newIssues.GetValueOrDefault(row.Release)))],
            total.Count == 0 ? 0 : total[0]);
    }
}
