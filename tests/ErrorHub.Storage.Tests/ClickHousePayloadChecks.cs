using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Events;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// What the ClickHouse store's <c>payload</c> column promises (docs/storage.md, "The payload column"), on one server and
/// on the cluster: events the store writes are compressed and read back whole, rows an earlier release wrote (plain
/// JSON) still read, and a damaged payload leaves out its event, not the page that shows it.
/// </summary>
internal static class ClickHousePayloadChecks
{
    private const int Project = 7;
    private static readonly DateTimeOffset T0 = TestEvents.BaseTime;

    public static async Task Events_are_stored_compressed_and_read_back_whole(ErrorHubStore store, ClickHouseClient client, string database)
    {
        var complete = TestEvents.CreateComplete(Project, "fp-complete", T0);
        await store.Events.InsertEventsAsync([complete]);

        var stored = await StoredBytesAsync(client, database, complete.EventId);
        stored[0].Should().Be(ClickHousePayload.Lz4Marker, "ingest compresses the payload");
        stored.Length.Should().BeLessThan(EventPayloadJson.SerializeToUtf8Bytes(complete).Length);
        await ShouldReadWholeAsync(store, complete);
    }

    public static async Task A_plain_json_payload_of_an_earlier_release_still_reads(ErrorHubStore store, ClickHouseClient client, string database)
    {
        var old = TestEvents.CreateComplete(Project, "fp-old", T0);
        await InsertAsync(client, database, old, EventPayloadJson.SerializeToUtf8Bytes(old));

        (await StoredBytesAsync(client, database, old.EventId))[0].Should().Be((byte)'{');
        await ShouldReadWholeAsync(store, old);
    }

    public static async Task A_damaged_payload_leaves_out_its_event_and_nothing_else(ErrorHubStore store, ClickHouseClient client, string database, CapturingLoggerProvider logs)
    {
        var good = TestEvents.CreateComplete(Project, "fp", T0.AddMinutes(10));
        await store.Events.InsertEventsAsync([good]);
        var compressed = ClickHousePayload.Encode(good);
        var damaged = new (string What, byte[] Bytes)[]
        {
            ("truncated block", compressed[..^20]),
            ("wrong marker", [0x02, .. compressed[1..]]),
            ("header claiming more than a block can hold", [ClickHousePayload.Lz4Marker, 0xff, 0xff, 0xff, 0x7f, .. compressed[5..]]),
            ("header only", compressed[..3]),
            ("empty", []),
            ("cut JSON", EventPayloadJson.SerializeToUtf8Bytes(good)[..40]),
        };
        var ids = new List<Guid>();
        foreach (var (what, bytes) in damaged)
        {
            // The oldest is damaged too: an issue's first event.
            var e = TestEvents.Create(Project, "fp", T0.AddMinutes(ids.Count), title: what);
            ids.Add(e.EventId);
            await InsertAsync(client, database, e, bytes);
        }

        (await store.Issues.GetEventsAsync(Project, "fp", 50)).Should().ContainSingle()
            .Which.Should().BeEquivalentTo(good, "each damaged event is left out, the readable one is shown");
        (await store.Issues.GetIssueAsync(Project, "fp"))!.EventCount.Should().Be(damaged.Length + 1, "the counts do not read payloads");
        foreach (var id in ids)
        {
            (await store.Issues.GetEventAsync(Project, id)).Should().BeNull();
            (await store.Issues.GetIssueEventAsync(Project, "fp", id)).Should().BeNull();
        }

        (await store.Notifications.Activity.GetFirstEventAsync(Project, "fp", EventFilter.All)).Should().BeNull("the first event's payload is damaged");
        (await store.Issues.GetEventAsync(Project, good.EventId)).Should().BeEquivalentTo(good);
        var warnings = logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("stored payload", StringComparison.Ordinal)).ToList();
        foreach (var id in ids)
        {
            warnings.Should().Contain(w => w.Message.Contains(id.ToString(), StringComparison.Ordinal), "an operator learns which event is damaged");
        }

        warnings.Should().NotContain(w => w.Message.Contains(good.EventId.ToString(), StringComparison.Ordinal));
    }

    private static async Task ShouldReadWholeAsync(ErrorHubStore store, ErrorEvent expected)
    {
        (await store.Issues.GetEventAsync(Project, expected.EventId)).Should().BeEquivalentTo(expected, o => o.RespectingRuntimeTypes());
        (await store.Issues.GetIssueEventAsync(Project, expected.Fingerprint, expected.EventId)).Should().BeEquivalentTo(expected);
        (await store.Issues.GetEventsAsync(Project, expected.Fingerprint, 10)).Should().ContainSingle().Which.Should().BeEquivalentTo(expected);
        (await store.Notifications.Activity.GetFirstEventAsync(Project, expected.Fingerprint, EventFilter.All)).Should().BeEquivalentTo(expected);
    }

    /// <summary>A row as an earlier release (or damage) left it: the columns the reads look it up by, and <paramref name="payload"/>.</summary>
    private static Task InsertAsync(ClickHouseClient client, string database, ErrorEvent e, byte[] payload) =>
        client.InsertSelectAsync(
            $"""
            INSERT INTO {ClickHouseSql.QuoteIdentifier(database)}.events (project_id, timestamp, received_at, event_id, fingerprint, grouping_version, level, title, culprit, payload)
            SELECT {e.ProjectId}, toDateTime({e.Timestamp.ToUnixTimeSeconds()}, 'UTC'), toDateTime({e.ReceivedAt.ToUnixTimeSeconds()}, 'UTC'),
                   {ClickHouseSql.Literal(e.EventId)}, {ClickHouseSql.Quote(e.Fingerprint)}, {e.GroupingVersion}, {ClickHouseSql.Quote(e.Level)},
                   {ClickHouseSql.Quote(e.Title)}, {ClickHouseSql.Quote(e.Culprit)}, unhex('{Convert.ToHexString(payload)}')
            """,
            CancellationToken.None);

    private static async Task<byte[]> StoredBytesAsync(ClickHouseClient client, string database, Guid eventId)
    {
        var rows = await client.QueryAsync(
            $"SELECT hex(payload) AS stored FROM {ClickHouseSql.QuoteIdentifier(database)}.events WHERE event_id = {ClickHouseSql.Literal(eventId)}",
            row => Convert.FromHexString(row.GetProperty("stored").GetString()!),
            CancellationToken.None);
        return rows.Should().ContainSingle().Subject;
    }
}
