using System.Globalization;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Retention on ClickHouse (18.16 has no TTL). Weekly partitions older than every project's cutoff are
/// dropped whole (<c>ALTER TABLE ... DROP PARTITION</c>: instant, no rewrite); what a project with a shorter
/// retention than others still has before its cutoff is deleted with an <c>ALTER TABLE ... DELETE</c> mutation,
/// only when it has such rows (a mutation rewrites the parts it touches, so a project costs at most one per
/// run, and the worker's cutoffs move by whole days). The events and every table made from them (the per-issue
/// rows with their search text, the hourly, daily and per-minute aggregates) are cut the same way (the per-issue
/// last seen by its own rule), so issue counts,
/// users and the activity that alerts and digests read follow. Waits for its mutations to finish.
/// </summary>
internal sealed class ClickHouseRetention(ClickHouseClient client, ClickHouseSchema schema) : IEventRetention
{
    private string IssueMinutely => new ClickHouseNotificationSchema(schema).IssueMinutely;

    public async Task<long> DeleteExpiredAsync(RetentionPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        // issue_totals' projects too: one whose last events went in a run that stopped after its drops has none in events.
        var projects = await client.QueryAsync(
            $"SELECT DISTINCT project_id FROM (SELECT project_id FROM {schema.Events} UNION ALL SELECT project_id FROM {schema.IssueTotals})",
            row => (int)ClickHouseClient.ReadInt64(row.GetProperty("project_id")),
            cancellationToken);
        var cutoffs = projects.ToDictionary(id => id, id => plan.CutoffByProject.TryGetValue(id, out var own) ? own : plan.OthersCutoff);
        var expired = new Dictionary<int, DateTimeOffset>();
        long deleted = 0;
        foreach (var (projectId, cutoff) in cutoffs)
        {
            if (cutoff is { } before)
            {
                var count = await CountOlderAsync(projectId, before, cancellationToken);
                if (count > 0)
                {
                    expired[projectId] = before;
                    deleted += count;
                }
            }
        }

        var mutated = false;
        if (expired.Count > 0)
        {
            // A week's partition holds every project's events of that week: it goes when it is past every project's cutoff.
            if (cutoffs.Values.All(cutoff => cutoff is not null))
            {
                var oldestCutoff = cutoffs.Values.Min(cutoff => cutoff!.Value);
                await DropPartitionsBeforeAsync(schema.Events, oldestCutoff, cancellationToken);
                await DropPartitionsBeforeAsync(schema.IssueHourly, oldestCutoff, cancellationToken);
                await DropPartitionsBeforeAsync(schema.IssueEvents, oldestCutoff, cancellationToken);
                await DropPartitionsBeforeAsync(schema.IssueDays, oldestCutoff, cancellationToken);
                await DropPartitionsBeforeAsync(IssueMinutely, oldestCutoff, cancellationToken);
            }

            foreach (var (projectId, before) in expired)
            {
                if (await CountOlderAsync(projectId, before, cancellationToken) == 0)
                {
                    continue; // the dropped partitions held them all
                }

                var project = ClickHouseSql.Literal(projectId);
                var time = Time(before);
                await client.ExecuteAsync($"ALTER TABLE {schema.Events} DELETE WHERE project_id = {project} AND timestamp < {time}", cancellationToken);
                await client.ExecuteAsync($"ALTER TABLE {schema.IssueHourly} DELETE WHERE project_id = {project} AND hour < {time}", cancellationToken);
                await client.ExecuteAsync($"ALTER TABLE {schema.IssueEvents} DELETE WHERE project_id = {project} AND timestamp < {time}", cancellationToken);
                await client.ExecuteAsync($"ALTER TABLE {schema.IssueDays} DELETE WHERE project_id = {project} AND day < {time}", cancellationToken);
                await client.ExecuteAsync($"ALTER TABLE {IssueMinutely} DELETE WHERE project_id = {project} AND minute < {time}", cancellationToken);
                mutated = true;
            }
        }

        foreach (var (projectId, cutoff) in cutoffs)
        {
            // Every project with a cutoff, also one with no expired event left: issue_totals (no weeks to drop) may still
            // hold issues whose events all went in a run that stopped after its drops (the process ended, ClickHouse timed
            // out). Until December 2026 such issues stayed on the list, without events, for good.
            mutated |= cutoff is { } before && await DeleteExpiredIssueTotalsAsync(projectId, before, cancellationToken);
        }

        if (mutated)
        {
            await ClickHouseMutations.WaitAsync(client, schema.Database, cancellationToken);
        }

        return deleted;
    }

    /// <summary>
    /// <c>issue_totals</c> holds one maximum per issue (or a few, until its parts merge), not days: a row whose last second
    /// is before the cutoff stands for events that are all gone now, and one past it for an event that is kept, so deleting
    /// the former leaves each issue's row exactly as if its expired events had never been stored.
    /// </summary>
    private async Task<bool> DeleteExpiredIssueTotalsAsync(int projectId, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var condition = $"project_id = {ClickHouseSql.Literal(projectId)} AND finalizeAggregation(last_seen) < {ClickHouseSql.Literal(ClickHouseEventRow.ClampToDateTime(before).ToUnixTimeSeconds())}";
        var counts = await client.QueryAsync(
            $"SELECT count() AS n FROM {schema.IssueTotals} WHERE {condition}",
            row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
            cancellationToken);
        if (counts.Count == 0 || counts[0] == 0)
        {
            return false;
        }

        await client.ExecuteAsync($"ALTER TABLE {schema.IssueTotals} DELETE WHERE {condition}", cancellationToken);
        return true;
    }

    private async Task<long> CountOlderAsync(int projectId, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var counts = await client.QueryAsync(
            $"SELECT count() AS n FROM {schema.Events} WHERE project_id = {ClickHouseSql.Literal(projectId)} AND timestamp < {Time(before)}",
            row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
            cancellationToken);
        return counts.Count == 0 ? 0 : counts[0];
    }

    /// <summary>
    /// Drops the weekly partitions (by Monday) whose whole week lies before <paramref name="before"/>. On a cluster the
    /// parts of a Distributed table are in its local table, and the drop goes to every shard (ClickHouseClusterDdl);
    /// a week this node's shard lacks is left to the row deletion that follows.
    /// </summary>
    private async Task DropPartitionsBeforeAsync(string table, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var name = table[(table.LastIndexOf('.') + 1)..];
        var partitions = await client.QueryAsync(
            $"""
            SELECT DISTINCT partition FROM system.parts
            WHERE database = {ClickHouseSql.Quote(schema.Database)} AND active
                AND table IN ({ClickHouseSql.Quote(name)}, {ClickHouseSql.Quote(name + ClickHouseClusterDdl.LocalSuffix)})
            """,
            row => row.GetProperty("partition").GetString() ?? "",
            cancellationToken);
        foreach (var partition in partitions)
        {
            // The partition of a Date key reads '2026-11-30' (quoted on some versions, not on others).
            if (!DateOnly.TryParseExact(partition.Trim('\''), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var monday))
            {
                continue;
            }

            var weekEnd = new DateTimeOffset(monday.AddDays(7).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            if (weekEnd <= before)
            {
                await client.ExecuteAsync($"ALTER TABLE {table} DROP PARTITION {ClickHouseSql.Quote(monday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))}", cancellationToken);
            }
        }
    }

    private static string Time(DateTimeOffset time) =>
        $"toDateTime({ClickHouseSql.Literal(ClickHouseEventRow.ClampToDateTime(time).ToUnixTimeSeconds())}, 'UTC')";
}
