using System.Globalization;
using System.Net;
using ErrorHub.Ingestion.Journal;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Journal;

[CollectionDefinition(Name)]
public sealed class ClickHouseServerCollectionDefinition : ICollectionFixture<ClickHouseServerFixture>
{
    public const string Name = "ClickHouse";
}

/// <summary>Ingest hosts with the journal on over a real ClickHouse database, and what a test asks of the store and the journal.</summary>
internal static class JournalTestKit
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static Dictionary<string, string?> Settings(Uri clickHouse, string database, string journalDirectory, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = clickHouse.ToString(),
            ["ErrorHub:Store:ClickHouse:Database"] = database,
            ["ErrorHub:Ingest:Journal:Enabled"] = "true",
            ["ErrorHub:Ingest:Journal:Directory"] = journalDirectory,
            ["ErrorHub:Ingest:SpikeEventsPerSecond"] = "0",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    public static IngestJournal Journal(this IngestHost host) => host.Services.GetRequiredService<IngestJournal>();

    /// <summary>Rows in the events table for these ids, and how many distinct ids among them (what a user would see twice if they differ).</summary>
    public static async Task<(long Rows, long Distinct)> CountStoredAsync(Uri clickHouse, string database, IReadOnlyCollection<Guid> ids)
    {
        if (ids.Count == 0)
        {
            return (0, 0);
        }

        var list = string.Join(",", ids.Select(id => $"toUUID('{id}')"));
        var sql = $"SELECT count(), uniqExact(event_id) FROM {database}.events WHERE event_id IN ({list}) FORMAT TSV";
        using var response = await Http.PostAsync(clickHouse, new StringContent(sql));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, text);
        var parts = text.Trim().Split('\t');
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Polls (bounded) until every id is stored; returns the final count. Waiting is what a user does after a 202.</summary>
    public static async Task<(long Rows, long Distinct)> WaitUntilStoredAsync(Uri clickHouse, string database, IReadOnlyCollection<Guid> ids, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var counts = await CountStoredAsync(clickHouse, database, ids);
            if (counts.Distinct >= ids.Count || DateTime.UtcNow > deadline)
            {
                return counts;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Polls a condition, bounded; the caller asserts what it waited for.</summary>
    public static async Task WaitForAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }

    public static string[] Segments(string journalDirectory) =>
        Directory.Exists(journalDirectory) ? Directory.GetFiles(journalDirectory, "*" + JournalFiles.SegmentExtension) : [];

    /// <summary>
    /// A batch of three fresh events as the journal keeps it (project 1, gzip'd as an SDK sends it), and its ids; with
    /// <paramref name="withoutIds"/>, its events carry no event_id (the server names them) and no ids are returned.
    /// </summary>
    public static (byte[] Payload, Guid[] Ids) FreshRecord(int copies = 1, bool withoutIds = false)
    {
        var (batch, ids) = SampleBatch.WithFreshIds(copies);
        if (withoutIds)
        {
            batch = batch.With("events", ((object?[])batch["events"]!).Select(e => (object?)((WireMap)e!).Without("event_id")).ToArray());
            ids = [];
        }

        return (JournalPayload.Create(IngestHost.ProjectId, DateTimeOffset.UtcNow, gzip: true, IngestHost.Gzip(Wire.Encode(batch))).Bytes, ids);
    }

    /// <summary>Every row in the events table, and how many distinct ids among them.</summary>
    public static async Task<(long Rows, long Distinct)> CountAllStoredAsync(Uri clickHouse, string database)
    {
        using var response = await Http.PostAsync(clickHouse, new StringContent($"SELECT count(), uniqExact(event_id) FROM {database}.events FORMAT TSV"));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, text);
        var parts = text.Trim().Split('\t');
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Writes records to a journal directory the way ingest does, as if it had accepted them and died before flushing.</summary>
    public static void WriteJournal(string directory, params byte[][] payloads)
    {
        using var files = JournalFiles.Open(directory, 64L * 1024 * 1024, out _);
        foreach (var payload in payloads)
        {
            files.Append([payload]);
        }
    }

    public static string NewDirectory() => Directory.CreateTempSubdirectory("errorhub-journal-").FullName;
}
