using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>The outbox, documents and leases on SQLite: a unique key makes recording idempotent, an UPDATE with a condition takes the lease.</summary>
internal sealed class SqliteNotificationStore(SqliteDatabase database) : INotificationStore
{
    public async Task<bool> AddNotificationAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var added = false;
        await database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = """
                    INSERT INTO notifications (id, project_id, key, grp, state, created_at, next_attempt_at, payload)
                    VALUES ($id, $project, $key, $group, $state, $created, $next, $payload)
                    ON CONFLICT DO NOTHING
                    """;
                Bind(command, notification);
                added = await command.ExecuteNonQueryAsync(cancellationToken) == 1;
            },
            cancellationToken);
        return added;
    }

    public Task UpdateNotificationAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "UPDATE notifications SET state = $state, next_attempt_at = $next, payload = $payload WHERE id = $id";
                Bind(command, notification);
                await command.ExecuteNonQueryAsync(cancellationToken);
            },
            cancellationToken);
    }

    public Task<IReadOnlyList<Notification>> GetDueNotificationsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync(
            "WHERE state = 'pending' AND next_attempt_at <= $now ORDER BY created_at, id LIMIT $limit",
            command =>
            {
                command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$limit", Math.Clamp(limit, 1, 10_000));
            },
            cancellationToken);

    public Task<IReadOnlyList<Notification>> GetNotificationsAsync(int projectId, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync(
            "WHERE project_id = $project ORDER BY created_at DESC, id DESC LIMIT $limit",
            command =>
            {
                command.Parameters.AddWithValue("$project", projectId);
                command.Parameters.AddWithValue("$limit", Math.Clamp(limit, 1, 10_000));
            },
            cancellationToken);

    public async Task<NotificationCounts> CountNotificationsAsync(int projectId, DateTimeOffset since, string group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT
                (SELECT count(*) FROM notifications WHERE project_id = $project AND state != 'held' AND created_at >= $since),
                (SELECT count(*) FROM notifications WHERE project_id = $project AND state = 'held' AND created_at >=
                    coalesce((SELECT max(created_at) FROM notifications WHERE project_id = $project AND state != 'held'), -1)),
                (SELECT max(created_at) FROM notifications WHERE project_id = $project AND grp = $group AND state != 'held')
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$group", group);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new NotificationCounts(
            reader.GetInt32(0),
            reader.GetInt32(1),
            reader.IsDBNull(2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));
    }

    public async Task<string?> GetDocumentAsync(int projectId, string kind, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kind);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT json FROM notification_documents WHERE project_id = $project AND kind = $kind";
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$kind", kind);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public Task SaveDocumentAsync(int projectId, string kind, string json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(json);
        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = """
                    INSERT INTO notification_documents (project_id, kind, json) VALUES ($project, $kind, $json)
                    ON CONFLICT (project_id, kind) DO UPDATE SET json = excluded.json
                    """;
                command.Parameters.AddWithValue("$project", projectId);
                command.Parameters.AddWithValue("$kind", kind);
                command.Parameters.AddWithValue("$json", json);
                await command.ExecuteNonQueryAsync(cancellationToken);
            },
            cancellationToken);
    }

    public async Task<bool> TryAcquireLeaseAsync(string name, string holder, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(holder);
        var acquired = false;
        await database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                // One statement, so two processes on the same file cannot both take it.
                await using var command = connection.CreateCommand();
                command.CommandText = """
                    INSERT INTO leases (name, holder, expires_at) VALUES ($name, $holder, $expires)
                    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                    WHERE leases.holder = excluded.holder OR leases.expires_at <= $now
                    """;
                command.Parameters.AddWithValue("$name", name);
                command.Parameters.AddWithValue("$holder", holder);
                command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$expires", (now + duration).ToUnixTimeMilliseconds());
                acquired = await command.ExecuteNonQueryAsync(cancellationToken) == 1;
            },
            cancellationToken);
        return acquired;
    }

    public async Task<MailThread?> GetMailThreadAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadThreadAsync(connection, projectId, fingerprint, cancellationToken);
    }

    public async Task<MailThread> StartMailThreadAsync(int projectId, string fingerprint, MailThread thread, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(thread);
        MailThread? current = null;
        await database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = """
                    INSERT INTO mail_threads (project_id, fingerprint, message_id, subject, started_at)
                    VALUES ($project, $fingerprint, $message, $subject, $started)
                    ON CONFLICT DO NOTHING
                    """;
                command.Parameters.AddWithValue("$project", projectId);
                command.Parameters.AddWithValue("$fingerprint", fingerprint);
                command.Parameters.AddWithValue("$message", thread.MessageId);
                command.Parameters.AddWithValue("$subject", thread.Subject);
                command.Parameters.AddWithValue("$started", thread.StartedAt.ToUnixTimeMilliseconds());
                await command.ExecuteNonQueryAsync(cancellationToken);
                current = await ReadThreadAsync(connection, projectId, fingerprint, cancellationToken);
            },
            cancellationToken);
        return current ?? thread;
    }

    public Task AddParticipantsAsync(IReadOnlyList<IssueSubscription> participants, CancellationToken cancellationToken = default) =>
        WriteSubscriptionsAsync(participants, "ON CONFLICT DO NOTHING", cancellationToken);

    public Task SetSubscriptionAsync(IssueSubscription subscription, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        return WriteSubscriptionsAsync(
            [subscription],
            "ON CONFLICT (project_id, fingerprint, user_id) DO UPDATE SET subscribed = excluded.subscribed, reason = excluded.reason, at = excluded.at",
            cancellationToken);
    }

    public async Task<IReadOnlyList<IssueSubscription>> GetSubscriptionsAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        var found = new List<IssueSubscription>();
        if (fingerprints.Count == 0)
        {
            return found;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        foreach (var chunk in fingerprints.Distinct(StringComparer.Ordinal).Chunk(500))
        {
            await using var command = connection.CreateCommand();
            var names = chunk.Select((_, i) => "$f" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            command.CommandText = $"SELECT fingerprint, user_id, subscribed, reason, at FROM issue_subscriptions WHERE project_id = $project AND fingerprint IN ({string.Join(", ", names)})";
            command.Parameters.AddWithValue("$project", projectId);
            for (var i = 0; i < chunk.Length; i++)
            {
                command.Parameters.AddWithValue(names[i], chunk[i]);
            }

            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found.Add(new IssueSubscription(
                    projectId,
                    reader.GetString(0),
                    Guid.ParseExact(reader.GetString(1), "N"),
                    reader.GetInt64(2) == 1,
                    StoredNames.ParseSubscriptionReason(reader.GetString(3)),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
            }
        }

        return found;
    }

    public Task DeleteSubscriptionsAsync(int projectId, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            (connection, cancellationToken) => SqliteDatabase.ExecuteAsync(connection, null, $"DELETE FROM issue_subscriptions WHERE project_id = {projectId.ToString(System.Globalization.CultureInfo.InvariantCulture)}", cancellationToken),
            cancellationToken);

    private Task WriteSubscriptionsAsync(IReadOnlyList<IssueSubscription> subscriptions, string onConflict, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriptions);
        if (subscriptions.Count == 0)
        {
            return Task.CompletedTask;
        }

        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                foreach (var subscription in subscriptions)
                {
                    await using var command = connection.CreateCommand();
                    command.CommandText = $"""
                        INSERT INTO issue_subscriptions (project_id, fingerprint, user_id, subscribed, reason, at)
                        VALUES ($project, $fingerprint, $user, $subscribed, $reason, $at)
                        {onConflict}
                        """;
                    command.Parameters.AddWithValue("$project", subscription.ProjectId);
                    command.Parameters.AddWithValue("$fingerprint", subscription.Fingerprint);
                    command.Parameters.AddWithValue("$user", subscription.UserId.ToString("N"));
                    command.Parameters.AddWithValue("$subscribed", subscription.IsSubscribed ? 1 : 0);
                    command.Parameters.AddWithValue("$reason", StoredNames.Of(subscription.Reason));
                    command.Parameters.AddWithValue("$at", subscription.At.ToUnixTimeMilliseconds());
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
            },
            cancellationToken);
    }

    private static async Task<MailThread?> ReadThreadAsync(SqliteConnection connection, int projectId, string fingerprint, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT message_id, subject, started_at FROM mail_threads WHERE project_id = $project AND fingerprint = $fingerprint";
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new MailThread(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)))
            : null;
    }

    private async Task<IReadOnlyList<Notification>> ReadAsync(string where, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM notifications " + where;
        bind(command);
        var notifications = new List<Notification>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            notifications.Add(NotificationJson.Deserialize(reader.GetString(0)));
        }

        return notifications;
    }

    private static void Bind(SqliteCommand command, Notification notification)
    {
        command.Parameters.AddWithValue("$id", notification.Id.ToString("N"));
        command.Parameters.AddWithValue("$project", notification.ProjectId);
        command.Parameters.AddWithValue("$key", notification.Key);
        command.Parameters.AddWithValue("$group", notification.Group);
        command.Parameters.AddWithValue("$state", StoredNames.Of(notification.State));
        command.Parameters.AddWithValue("$created", notification.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$next", notification.NextAttemptAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$payload", NotificationJson.Serialize(notification));
    }
}
