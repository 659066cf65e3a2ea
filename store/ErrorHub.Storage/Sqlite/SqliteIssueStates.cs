using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>Issue states on SQLite: one row per issue that was ever triaged.</summary>
internal sealed class SqliteIssueStates(SqliteDatabase database) : IIssueStates
{
    public Task SetStateAsync(IssueState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        return SetStatesAsync([state], cancellationToken);
    }

    public Task SetStatesAsync(IReadOnlyCollection<IssueState> states, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Any(state => state is null))
        {
            throw new ArgumentException("A state is null.", nameof(states));
        }

        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                // One transaction: all the states or none, and one sync to disk rather than one per state.
                await using var transaction = connection.BeginTransaction();
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = """
                    INSERT INTO issue_states (project_id, fingerprint, status, changed_at, resolved_in_release, triage)
                    VALUES ($project, $fingerprint, $status, $changed, $release, $triage)
                    ON CONFLICT (project_id, fingerprint) DO UPDATE SET
                        status = excluded.status, changed_at = excluded.changed_at, resolved_in_release = excluded.resolved_in_release,
                        triage = excluded.triage
                    """;
                var project = command.Parameters.Add("$project", SqliteType.Integer);
                var fingerprint = command.Parameters.Add("$fingerprint", SqliteType.Text);
                var status = command.Parameters.Add("$status", SqliteType.Text);
                var changed = command.Parameters.Add("$changed", SqliteType.Integer);
                var release = command.Parameters.Add("$release", SqliteType.Text);
                var triage = command.Parameters.Add("$triage", SqliteType.Text);
                foreach (var state in states)
                {
                    project.Value = state.ProjectId;
                    fingerprint.Value = state.Fingerprint;
                    status.Value = StoredNames.Of(state.Status);
                    changed.Value = state.ChangedAt.ToUnixTimeSeconds();
                    release.Value = (object?)NullIfEmpty(state.ResolvedInRelease) ?? DBNull.Value;
                    triage.Value = IssueTriageJson.Serialize(state);
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
            },
            cancellationToken);
    }

    public async Task<IssueState?> GetStateAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var states = await ReadAsync(projectId, fingerprint, null, cancellationToken);
        return states.Count == 0 ? null : states[0];
    }

    public Task<IReadOnlyList<IssueState>> GetStatesAsync(int projectId, IssueStatus? status = null, CancellationToken cancellationToken = default) =>
        ReadAsync(projectId, null, status, cancellationToken);

    public Task<IReadOnlyList<IssueState>> GetStatesOfAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        return fingerprints.Count == 0
            ? Task.FromResult<IReadOnlyList<IssueState>>([])
            : ReadAsync(projectId, null, null, cancellationToken, fingerprints: System.Text.Json.JsonSerializer.Serialize<IReadOnlyCollection<string>>([.. fingerprints.Distinct(StringComparer.Ordinal)], FingerprintJson.Default.IReadOnlyCollectionString));
    }

    // A scan of the project's states in the store, not in this process: only the few changed in the window are read out.
    public Task<IReadOnlyList<IssueState>> GetStatesChangedAsync(int projectId, IssueStatus status, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
        ReadAsync(
            projectId,
            null,
            status,
            cancellationToken,
            condition: "AND changed_at >= $from AND changed_at < $to",
            parameters: [("$from", StoreTime.ToUnixSecondsCeiling(from)), ("$to", StoreTime.ToUnixSecondsCeiling(to))]);

    // An unreadable triage names no "next release", as the state read from it does.
    public Task<IReadOnlyList<IssueState>> GetStatesResolvedForReleasesAsync(int projectId, IReadOnlyCollection<string> releases, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(releases);
        var names = releases.Where(release => !string.IsNullOrEmpty(release)).Distinct(StringComparer.Ordinal).ToList();
        return names.Count == 0
            ? Task.FromResult<IReadOnlyList<IssueState>>([])
            : ReadAsync(
                projectId,
                null,
                IssueStatus.Resolved,
                cancellationToken,
                condition: $"""
                    AND (resolved_in_release IN (SELECT value FROM json_each($releases))
                         OR json_valid(triage) AND json_extract(triage, '$.{IssueTriageJson.ResolvedAfterReleaseField}') IN (SELECT value FROM json_each($releases)))
                    """,
                parameters: [("$releases", System.Text.Json.JsonSerializer.Serialize<IReadOnlyCollection<string>>(names, FingerprintJson.Default.IReadOnlyCollectionString))]);
    }

    // A scan of the project's resolved states in the store; only the distinct names cross to this process.
    public async Task<IReadOnlyList<string>> GetReleasesResolvedAfterAsync(int projectId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT DISTINCT json_extract(triage, '$.{IssueTriageJson.ResolvedAfterReleaseField}')
            FROM issue_states
            WHERE project_id = $project AND status = $status
              AND json_valid(triage) AND json_type(triage, '$.{IssueTriageJson.ResolvedAfterReleaseField}') = 'text'
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$status", StoredNames.Of(IssueStatus.Resolved));
        var releases = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (reader.GetString(0) is { Length: > 0 } release)
            {
                releases.Add(release);
            }
        }

        releases.Sort(StringComparer.Ordinal);
        return releases;
    }

    // An unreadable triage names nothing, as the state read from it does.
    public Task<IReadOnlyList<IssueState>> GetAssignedOrTimedStatesAsync(int projectId, CancellationToken cancellationToken = default) =>
        ReadAsync(
            projectId,
            null,
            null,
            cancellationToken,
            condition: $"""
                AND json_valid(triage)
                AND (json_extract(triage, '$.{IssueTriageJson.AssigneeIdField}') IS NOT NULL
                     OR status = '{StoredNames.Of(IssueStatus.Ignored)}' AND json_extract(triage, '$.{IssueTriageJson.IgnoredUntilField}') IS NOT NULL)
                """);

    private async Task<IReadOnlyList<IssueState>> ReadAsync(
        int projectId, string? fingerprint, IssueStatus? status, CancellationToken cancellationToken, string? fingerprints = null, string condition = "", IReadOnlyList<(string Name, object Value)>? parameters = null)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT fingerprint, status, changed_at, resolved_in_release, triage
            FROM issue_states
            WHERE project_id = $project
            {(fingerprint is null ? "" : "AND fingerprint = $fingerprint")}
            {(fingerprints is null ? "" : "AND fingerprint IN (SELECT value FROM json_each($fingerprints))")}
            {(status is null ? "" : "AND status = $status")}
            {condition}
            ORDER BY fingerprint
            """;
        command.Parameters.AddWithValue("$project", projectId);
        if (fingerprint is not null)
        {
            command.Parameters.AddWithValue("$fingerprint", fingerprint);
        }

        if (fingerprints is not null)
        {
            command.Parameters.AddWithValue("$fingerprints", fingerprints);
        }

        if (status is { } wanted)
        {
            command.Parameters.AddWithValue("$status", StoredNames.Of(wanted));
        }

        foreach (var (name, value) in parameters ?? [])
        {
            command.Parameters.AddWithValue(name, value);
        }

        var states = new List<IssueState>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            states.Add(IssueTriageJson.Apply(new IssueState(
                projectId,
                reader.GetString(0),
                StoredNames.ParseIssueStatus(reader.GetString(1)),
                DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(2)))
            {
                ResolvedInRelease = reader.IsDBNull(3) ? null : reader.GetString(3),
            }, reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return states;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
