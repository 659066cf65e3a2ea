using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Events;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// What the ClickHouse store's <c>payload</c> column promises (docs/storage.md, "The payload column"), on one server and
/// on the cluster: events the store writes are compressed and read back whole, their frames in the payload only (the
/// <c>frames</c> columns left empty), rows an earlier release wrote (plain JSON, frames in columns) still read the same,
/// and a damaged payload leaves out its event, not the page that shows it.
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

    public static async Task An_events_frames_are_stored_in_its_payload_only_and_read_back_whole(ErrorHubStore store, ClickHouseClient client, string database)
    {
        var complete = TestEvents.CreateComplete(Project, "fp-frames", T0);
        complete.Exceptions.Should().HaveCountGreaterThan(1).And.OnlyContain(x => x.Frames.Count > 0);
        complete.Exceptions.SelectMany(x => x.Frames).Should().Contain(f => f.InApp && f.File != null && f.Line != null && f.Column != null)
            .And.Contain(f => !f.InApp && f.File == null && f.Line == null);
        await store.Events.InsertEventsAsync([complete]);

        (await FrameColumnsAsync(client, database, complete.EventId)).Should().BeEquivalentTo(FrameColumns.Empty, "nothing reads the frame columns: they are left empty");
        await ShouldReadWholeAsync(store, complete);
        var read = await store.Issues.GetEventAsync(Project, complete.EventId);
        read!.Exceptions.Select(x => x.Frames).Should().BeEquivalentTo(complete.Exceptions.Select(x => x.Frames), o => o.WithStrictOrdering(), "the payload holds every frame");
    }

    public static async Task A_row_of_an_earlier_release_with_its_frames_in_columns_still_reads_the_same(ErrorHubStore store, ClickHouseClient client, string database)
    {
        var old = TestEvents.CreateComplete(Project, "fp-frames-old", T0);
        var fresh = TestEvents.CreateComplete(Project, "fp-frames-new", T0.AddMinutes(1));
        await InsertWithFrameColumnsAsync(client, database, old);
        await store.Events.InsertEventsAsync([fresh]);

        (await FrameColumnsAsync(client, database, old.EventId)).Should().BeEquivalentTo(FrameColumns.Of(old), "the row is as an earlier release wrote it");
        (await FrameColumnsAsync(client, database, fresh.EventId)).Should().BeEquivalentTo(FrameColumns.Empty);
        await ShouldReadWholeAsync(store, old);
        await ShouldReadWholeAsync(store, fresh);
        // Only the outer exception's type says "AggregateException" (the title names the inner one).
        old.Title.Should().NotContain("AggregateException");
        var found = await store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { Search = "aggregateexception" } });
        found.Items.Select(i => i.Fingerprint).Should().BeEquivalentTo(["fp-frames-old", "fp-frames-new"], "the search reads the exception columns, written as before");
    }

    /// <summary>
    /// An event's row as releases before the frame columns were left empty wrote it: every column the reads and the views
    /// use, the frames in <c>frames.*</c> (exception_index says whose), and the payload as stored today.
    /// </summary>
    private static Task InsertWithFrameColumnsAsync(ClickHouseClient client, string database, ErrorEvent e)
    {
        var frames = FrameColumns.Of(e);
        static string Strings(IEnumerable<string> values) => $"CAST([{string.Join(", ", values.Select(ClickHouseSql.Quote))}] AS Array(String))";
        static string Numbers(IEnumerable<long> values, string type) => $"CAST([{string.Join(", ", values)}] AS Array({type}))";
        return client.InsertSelectAsync(
            $"""
            INSERT INTO {ClickHouseSql.QuoteIdentifier(database)}.events (project_id, timestamp, received_at, event_id, fingerprint, grouping_version,
                level, title, culprit, message, release, environment, server_name, exceptions.type, exceptions.value, exceptions.module,
                frames.exception_index, frames.function, frames.type, frames.module, frames.file, frames.line_number, frames.column_number, frames.in_app,
                user_id, user_email, user_username, user_ip, user_hash, url, tags.key, tags.value, payload, grouping)
            SELECT {e.ProjectId}, toDateTime({e.Timestamp.ToUnixTimeSeconds()}, 'UTC'), toDateTime({e.ReceivedAt.ToUnixTimeSeconds()}, 'UTC'),
                   {ClickHouseSql.Literal(e.EventId)}, {ClickHouseSql.Quote(e.Fingerprint)}, {e.GroupingVersion}, {ClickHouseSql.Quote(e.Level)},
                   {ClickHouseSql.Quote(e.Title)}, {ClickHouseSql.Quote(e.Culprit)}, {ClickHouseSql.Quote(e.Message ?? "")}, {ClickHouseSql.Quote(e.Release ?? "")},
                   {ClickHouseSql.Quote(e.Environment ?? "")}, {ClickHouseSql.Quote(e.ServerName ?? "")},
                   {Strings(e.Exceptions.Select(x => x.Type))}, {Strings(e.Exceptions.Select(x => x.Value))}, {Strings(e.Exceptions.Select(x => x.Module ?? ""))},
                   {Numbers(frames.Owners, "UInt16")}, {Strings(frames.Functions)}, {Strings(frames.Types)}, {Strings(frames.Modules)}, {Strings(frames.Files)},
                   {Numbers(frames.Lines, "UInt32")}, {Numbers(frames.Columns, "UInt32")}, {Numbers(frames.InApp, "UInt8")},
                   {ClickHouseSql.Quote(e.User?.Id ?? "")}, {ClickHouseSql.Quote(e.User?.Email ?? "")}, {ClickHouseSql.Quote(e.User?.Username ?? "")},
                   {ClickHouseSql.Quote(e.User?.IpAddress ?? "")}, toUInt64('{UserHash.Of(e.User?.Key)}'), {ClickHouseSql.Quote(e.Request?.Url ?? "")},
                   {Strings(e.Tags.Keys)}, {Strings(e.Tags.Values)}, unhex('{Convert.ToHexString(ClickHousePayload.Encode(e))}'),
                   {ClickHouseSql.Quote(EventPayloadJson.SerializeGrouping(e))}
            """,
            CancellationToken.None);
    }

    private static async Task<FrameColumns> FrameColumnsAsync(ClickHouseClient client, string database, Guid eventId)
    {
        static string[] Strings(System.Text.Json.JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetString()!)];
        static long[] Numbers(System.Text.Json.JsonElement e) => [.. e.EnumerateArray().Select(ClickHouseClient.ReadInt64)];
        var rows = await client.QueryAsync(
            $"""
            SELECT frames.exception_index AS owners, frames.function AS functions, frames.type AS types, frames.module AS modules, frames.file AS files,
                   frames.line_number AS lines, frames.column_number AS columns, frames.in_app AS in_app
            FROM {ClickHouseSql.QuoteIdentifier(database)}.events WHERE event_id = {ClickHouseSql.Literal(eventId)}
            """,
            row => new FrameColumns(Numbers(row.GetProperty("owners")), Strings(row.GetProperty("functions")), Strings(row.GetProperty("types")),
                Strings(row.GetProperty("modules")), Strings(row.GetProperty("files")), Numbers(row.GetProperty("lines")), Numbers(row.GetProperty("columns")),
                Numbers(row.GetProperty("in_app"))),
            CancellationToken.None);
        return rows.Should().ContainSingle().Subject;
    }

    /// <summary>The <c>frames</c> columns of one row, each as a list.</summary>
    private sealed record FrameColumns(long[] Owners, string[] Functions, string[] Types, string[] Modules, string[] Files, long[] Lines, long[] Columns, long[] InApp)
    {
        public static readonly FrameColumns Empty = new([], [], [], [], [], [], [], []);

        /// <summary>An event's frames as releases before this one wrote them: missing strings empty, missing numbers 0.</summary>
        public static FrameColumns Of(ErrorEvent e)
        {
            var frames = e.Exceptions.SelectMany((x, owner) => x.Frames.Select(f => (Owner: owner, Frame: f))).ToList();
            return new FrameColumns(
                [.. frames.Select(x => (long)x.Owner)], [.. frames.Select(x => x.Frame.Function)], [.. frames.Select(x => x.Frame.Type ?? "")],
                [.. frames.Select(x => x.Frame.Module ?? "")], [.. frames.Select(x => x.Frame.File ?? "")], [.. frames.Select(x => (long)(x.Frame.Line ?? 0))],
                [.. frames.Select(x => (long)(x.Frame.Column ?? 0))], [.. frames.Select(x => x.Frame.InApp ? 1L : 0L)]);
        }
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
