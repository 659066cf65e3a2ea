namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// The tables of projects' keys and of who may read them, and the columns projects gained with them.
/// Small relational data as <c>ReplacingMergeTree(version)</c>: every change is a new row with a higher
/// version, reads take <c>argMax(column, version)</c> per key and filter only on columns that never change
/// (so no older row can slip through). Applied after <see cref="ClickHouseSchema"/>, idempotent, and safe
/// on a database made by an older ErrorHub (its keys in <c>projects.public_key</c> keep working).
/// </summary>
internal sealed class ClickHouseAccessSchema(ClickHouseSchema schema)
{
    private const int DuplicateColumn = 15;
    private const int IllegalColumn = 44;

    public string ProjectKeys => schema.Table("project_keys");

    public string Users => schema.Table("users");

    public string ProjectMembers => schema.Table("project_members");

    public string Invitations => schema.Table("invitations");

    public string ApiTokens => schema.Table("api_tokens");

    /// <summary>
    /// When each token was last used, apart from <see cref="ApiTokens"/>: recording a use must never write a copy of the
    /// token's row, or a copy read just before another process revoked it would outrank the revocation and live on
    /// after parts merge (ReplacingMergeTree keeps the newest version). Older databases also hold a use in
    /// <c>api_tokens.last_used_at</c>; reads take the later of the two.
    /// </summary>
    public string ApiTokenUses => schema.Table("api_token_uses");

    public string ProjectDrops => schema.Table("project_drops");

    public IReadOnlyList<string> Statements =>
    [
        $"""
        CREATE TABLE IF NOT EXISTS {ProjectKeys}
        (
            project_id UInt32,
            public_key String,
            label String,
            created_at DateTime('UTC'),
            revoked UInt8,
            revoked_at DateTime('UTC'),
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, public_key)
        """,

        $"""
        CREATE TABLE IF NOT EXISTS {Users}
        (
            id UUID,
            email String,
            name String,
            password_hash String,
            role String,
            security_stamp String,
            failed_logins UInt32,
            locked_until DateTime('UTC'),
            created_at DateTime('UTC'),
            disabled_at DateTime('UTC'),
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY id
        """,

        $"""
        CREATE TABLE IF NOT EXISTS {ProjectMembers}
        (
            project_id UInt32,
            user_id UUID,
            member UInt8,
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, user_id)
        """,

        $"""
        CREATE TABLE IF NOT EXISTS {Invitations}
        (
            id UUID,
            token_hash String,
            email String,
            role String,
            project_ids Array(UInt32),
            created_by UUID,
            created_at DateTime('UTC'),
            expires_at DateTime('UTC'),
            accepted_at DateTime('UTC'),
            revoked_at DateTime('UTC'),
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY id
        """,

        $"""
        CREATE TABLE IF NOT EXISTS {ApiTokens}
        (
            id UUID,
            user_id UUID,
            name String,
            token_hash String,
            created_at DateTime('UTC'),
            last_used_at DateTime('UTC'),
            revoked_at DateTime('UTC'),
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY id
        """,

        $"""
        CREATE TABLE IF NOT EXISTS {ApiTokenUses}
        (
            id UUID,
            used_at DateTime('UTC')
        )
        ENGINE = ReplacingMergeTree(used_at)
        ORDER BY id
        """,

        // Counts from any number of ingest processes add up as parts merge; reads sum them.
        $"""
        CREATE TABLE IF NOT EXISTS {ProjectDrops}
        (
            project_id UInt32,
            hour DateTime('UTC'),
            reason String,
            batches UInt64,
            events UInt64
        )
        ENGINE = SummingMergeTree()
        PARTITION BY toYYYYMM(hour)
        ORDER BY (project_id, hour, reason)
        """,
    ];

    /// <summary>
    /// After <see cref="Statements"/>: adds the project columns a database lacks, then copies keys from
    /// <c>projects.public_key</c> that are not among the project's keys.
    /// </summary>
    public async Task UpgradeAsync(ClickHouseClient client, CancellationToken cancellationToken)
    {
        var existing = await client.QueryAsync(
            $"SELECT name FROM system.columns WHERE database = {ClickHouseSql.Quote(schema.Database)} AND table = 'projects'",
            row => row.GetProperty("name").GetString() ?? "",
            cancellationToken);
        foreach (var (name, type) in ClickHouseSchema.AddedProjectColumns.Where(column => !existing.Contains(column.Name)))
        {
            try
            {
                await client.ExecuteAsync($"ALTER TABLE {schema.Projects} ADD COLUMN {name} {type}", cancellationToken);
            }
            catch (ClickHouseException ex) when (ex.ErrorCode is DuplicateColumn or IllegalColumn)
            {
                // Another process added it first.
            }
        }

        var missing = await client.QueryAsync(
            $"""
            SELECT id, argMax(public_key, version) AS project_key, toUnixTimestamp(argMax(created_at, version)) AS created
            FROM {schema.Projects}
            GROUP BY id
            HAVING project_key != '' AND (id, project_key) NOT IN (SELECT project_id, public_key FROM {ProjectKeys})
            """,
            row => new ProjectKey(
                (int)ClickHouseClient.ReadInt64(row.GetProperty("id")),
                row.GetProperty("project_key").GetString() ?? "",
                "Default",
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("created"))),
                null),
            cancellationToken);
        if (missing.Count > 0)
        {
            await client.InsertAsync(ProjectKeys, missing.Select(key => new ClickHouseProjectKeyRow(key, RowVersion.Next())).ToList(), cancellationToken);
        }
    }
}
