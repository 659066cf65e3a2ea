namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Waits for a database's <c>ALTER TABLE ... DELETE</c> mutations: ClickHouse runs them in the background (18.16 has no
/// setting that makes the statement wait), and a caller that deletes rows expects them gone when it answers.
/// </summary>
internal static class ClickHouseMutations
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(10);

    public static async Task WaitAsync(ClickHouseClient client, string database, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var pending = await client.QueryAsync(
                $"SELECT count() AS n FROM system.mutations WHERE database = {ClickHouseSql.Quote(database)} AND is_done = 0",
                row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
                cancellationToken);
            if (pending.Count == 0 || pending[0] == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"ClickHouse did not finish deleting rows within {Wait}; the deletion goes on in the background.");
            }

            // Waiting on the server's background work, not on business time: the real clock is the right one.
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }
}
