using System.Net;
using ErrorHub.Ingestion.Journal;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.Ingestion.Tests.Journal.JournalTestKit;

namespace ErrorHub.Ingestion.Tests.Journal;

/// <summary>
/// The durable ingest journal over a real ClickHouse: what was answered 202 arrives in the store exactly once, whatever
/// the journal's files went through (a torn end, damage inside, a replay of what the store already had, a changed limit).
/// </summary>
[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class IngestJournalTests(ClickHouseServerFixture clickHouse) : IAsyncLifetime
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("journal");
    private readonly string _journal = NewDirectory();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        IngestHost.DeleteDirectory(_journal);
        return Task.CompletedTask;
    }

    private Task<IngestHost> StartAsync(Dictionary<string, string?>? more = null) =>
        IngestHost.StartAsync(Settings(clickHouse.Url, _database, _journal, more));

    [Fact]
    public async Task Accepted_batches_arrive_in_the_store_and_a_graceful_stop_leaves_an_empty_journal()
    {
        var ids = new List<Guid>();
        await using (var host = await StartAsync())
        {
            host.Journal().IsActive.Should().BeTrue();
            var posts = Enumerable.Range(0, 20).Select(async _ =>
            {
                var (batch, batchIds) = SampleBatch.WithFreshIds(copies: 5);
                using var response = await host.PostAsync(Wire.Encode(batch), gzip: true);
                response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
                (await IngestHost.JsonAsync(response)).GetProperty("accepted").GetInt32().Should().Be(15);
                return batchIds;
            });
            foreach (var batchIds in await Task.WhenAll(posts))
            {
                ids.AddRange(batchIds);
            }

            var stored = await WaitUntilStoredAsync(clickHouse.Url, _database, ids);
            stored.Should().Be((300L, 300L), "every event answered 202 is stored once");
            var appends = OperationsTests.Value(await OperationsTests.MetricsAsync(host), "errorhub_ingest_journal_append_duration_seconds_count");
            appends.Should().BeInRange(1, 20, "each write and fsync is timed once, for the batches that gathered behind it");
            // The events table and its views get their parts one after the other within an insert: wait as a reader would.
            ErrorEvent? read = null;
            for (var attempt = 0; attempt < 300 && read is null; attempt++)
            {
                read = await host.Issues.GetEventAsync(IngestHost.ProjectId, ids[0]);
                await Task.Delay(read is null ? 100 : 0);
            }

            read.Should().NotBeNull("the dashboard reads what the journal flushed");

            // More that may still be in memory when the stop begins.
            var (last, lastIds) = SampleBatch.WithFreshIds(copies: 3);
            using var lastResponse = await host.PostAsync(Wire.Encode(last));
            lastResponse.StatusCode.Should().Be(HttpStatusCode.Accepted);
            ids.AddRange(lastIds);
            await host.StopAsync();
            host.Logs.Errors.Should().BeEmpty();
        }

        (await CountStoredAsync(clickHouse.Url, _database, ids)).Should().Be((309L, 309L), "a graceful stop flushes everything accepted");
        Segments(_journal).Should().BeEmpty("a graceful stop with the store up leaves nothing in the journal");
    }

    [Fact]
    public async Task With_two_inserts_at_once_a_batch_sent_twice_while_its_first_copy_is_being_inserted_is_stored_once()
    {
        // Small inserts, so that batches arriving together make a backlog and the flusher runs two inserts at once.
        await using var host = await StartAsync(new()
        {
            ["ErrorHub:Ingest:Journal:MaxEventsPerInsert"] = "6",
            ["ErrorHub:Ingest:Journal:MaxConcurrentInserts"] = "2",
        });
        var ids = new List<Guid>();
        var posts = new List<Task>();
        for (var i = 0; i < 30; i++)
        {
            var (batch, batchIds) = SampleBatch.WithFreshIds();
            ids.AddRange(batchIds);
            var body = Wire.Encode(batch);
            // The client's retry (same ids) right behind the first try: the two land in consecutive inserts.
            posts.Add(PostAcceptedAsync(body));
            posts.Add(PostAcceptedAsync(body));
        }

        await Task.WhenAll(posts);
        (await WaitUntilStoredAsync(clickHouse.Url, _database, ids)).Should().Be((90L, 90L), "an event sent twice is stored once, also when its copies are in inserts under way together");
        // ClickHouse 18.16 writes an insert's rows into `events` before its views' tables, so the last insert's counts may
        // trail the rows seen above by a moment: a count that stays short or grows past 90 is what fails.
        var counted = 0L;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var issues = await host.Issues.GetIssuesAsync(new Storage.IssueQuery(IngestHost.ProjectId) { Limit = 100 });
            counted = issues.Items.Sum(i => i.EventCount);
            if (counted >= 90)
            {
                break;
            }

            await Task.Delay(100);
        }

        counted.Should().Be(90, "what the dashboard counts is each event once");

        // The request only decodes the batch: what does not decode is still refused, and nothing of it is journaled.
        using var invalid = await host.PostAsync([0x93, 0xc1, 0x01, 0x02]);
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        host.Journal().SkippedRecords.Should().Be(0);
        host.Logs.Errors.Should().BeEmpty();

        async Task PostAcceptedAsync(byte[] body)
        {
            using var response = await host.PostAsync(body, gzip: true);
            response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_light_flow_waits_for_its_insert_to_fill_and_goes_in_one_insert_as_soon_as_half_an_insert_is_waiting()
    {
        // A linger far longer than the test waits: the events can only be stored because enough of them came.
        await using var host = await StartAsync(new()
        {
            ["ErrorHub:Ingest:Journal:MaxEventsPerInsert"] = "30",
            ["ErrorHub:Ingest:Journal:InsertLinger"] = "00:01:00",
        });
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            // One after the other, as a light flow comes: without the linger the first would go in an insert of its own.
            ids.AddRange(await PostFreshAsync(host));
        }

        (await WaitUntilStoredAsync(clickHouse.Url, _database, ids, TimeSpan.FromSeconds(30))).Should().Be((15L, 15L), "half an insert waiting ends the linger at once");
        // Rows are readable a moment before the flusher counts their insert; it has counted every insert once nothing is pending.
        await WaitForAsync(() => host.Journal().PendingEvents == 0);
        host.Journal().Inserts.Should().Be(1, "the light flow's five batches went in one insert, not one each");
        host.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task A_linger_ends_at_once_when_half_of_the_journals_room_is_waiting()
    {
        // A journal that holds fewer events than an insert: waiting for the insert to fill would only refuse requests.
        await using var host = await StartAsync(new()
        {
            ["ErrorHub:Ingest:Journal:MaxPendingEvents"] = "6",
            ["ErrorHub:Ingest:Journal:InsertLinger"] = "00:01:00",
        });
        var ids = await PostFreshAsync(host);

        (await WaitUntilStoredAsync(clickHouse.Url, _database, ids, TimeSpan.FromSeconds(30))).Should().Be((3L, 3L), "three of a room of six is half: the flusher goes at once");
    }

    [Fact]
    public async Task A_stop_flushes_a_lingering_flow_at_once()
    {
        await using var host = await StartAsync(new()
        {
            ["ErrorHub:Ingest:Journal:InsertLinger"] = "00:01:00",
            ["ErrorHub:Ingest:Journal:StopFlushTimeout"] = "00:00:10",
        });
        var ids = await PostFreshAsync(host);

        await host.StopAsync();

        (await CountStoredAsync(clickHouse.Url, _database, ids)).Should().Be((3L, 3L), "a stop does not wait out the linger: what is waiting goes to the store within the stop's bound");
        Segments(_journal).Should().BeEmpty("a graceful stop with the store up leaves nothing in the journal");
        host.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task Inserts_end_at_their_byte_bound_and_the_batches_left_over_go_in_the_next_inserts_in_order_each_stored_once()
    {
        // Far more events than MaxEventsPerInsert's default would ever split, and far more bytes than the bound (64 KB): a
        // stop flushes the lingering 600 events in inserts of about 64 KB each, not in one.
        var more = new Dictionary<string, string?>
        {
            ["ErrorHub:Ingest:Journal:MaxBytesPerInsert"] = "65536",
            ["ErrorHub:Ingest:Journal:InsertLinger"] = "00:01:00",
            ["ErrorHub:Ingest:Journal:StopFlushTimeout"] = "00:00:30",
        };
        var ids = new List<Guid>();
        var bodies = new List<byte[]>();
        await using (var host = await StartAsync(more))
        {
            for (var i = 0; i < 40; i++)
            {
                var (batch, batchIds) = SampleBatch.WithFreshIds(copies: 5);
                bodies.Add(Wire.Encode(batch));
                using var response = await host.PostAsync(bodies[^1], gzip: true);
                response.StatusCode.Should().Be(HttpStatusCode.Accepted);
                ids.AddRange(batchIds);
            }

            // A retry of the first batch behind them: it lands in a later insert than its original and is still stored once.
            using (var retry = await host.PostAsync(bodies[0], gzip: true))
            {
                retry.StatusCode.Should().Be(HttpStatusCode.Accepted);
            }

            await host.StopAsync();
            host.Journal().Inserts.Should().BeGreaterThanOrEqualTo(3, "600 events of some 1 KB each exceed 64 KB several times");
            host.Journal().PendingEvents.Should().Be(0);
            host.Logs.Errors.Should().BeEmpty();
        }

        (await CountStoredAsync(clickHouse.Url, _database, ids)).Should().Be((600L, 600L), "every batch left over by a full insert goes in a later one, once");
        Segments(_journal).Should().BeEmpty("the checkpoint moved past every record, also those an insert handed back");
    }

    [Fact]
    public async Task A_replay_at_start_goes_in_inserts_bounded_by_their_bytes_and_stores_every_record_once()
    {
        var records = Enumerable.Range(0, 40).Select(_ => FreshRecord(copies: 5)).ToList();
        WriteJournal(_journal, [.. records.Select(r => r.Payload)]);

        await using var host = await StartAsync(new() { ["ErrorHub:Ingest:Journal:MaxBytesPerInsert"] = "65536" });

        var ids = records.SelectMany(r => r.Ids).ToList();
        (await WaitUntilStoredAsync(clickHouse.Url, _database, ids)).Should().Be((600L, 600L));
        await WaitForAsync(() => host.Journal().ReplayedRecords >= 40);
        host.Journal().Inserts.Should().BeGreaterThanOrEqualTo(3, "600 replayed events of some 1 KB each exceed 64 KB several times");
        host.Logs.Errors.Should().BeEmpty();
    }

    /// <summary>Posts a batch of three fresh events, gzip'd; it is answered 202 once journaled, however long its insert waits.</summary>
    private static async Task<Guid[]> PostFreshAsync(IngestHost host)
    {
        var (batch, ids) = SampleBatch.WithFreshIds();
        using var response = await host.PostAsync(Wire.Encode(batch), gzip: true);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return ids;
    }

    [Fact]
    public async Task Records_left_by_a_crash_are_replayed_at_start_and_a_torn_last_record_is_cut_off()
    {
        var (first, firstIds) = FreshRecord();
        var (second, secondIds) = FreshRecord();
        WriteJournal(_journal, first, second);
        var (torn, tornIds) = FreshRecord();
        WriteJournal(_journal, torn);

        // The last append reached the disk only in part (its flush never returned, so it was never acknowledged): its end
        // is still the zeros its preallocated segment was made of.
        var last = Segments(_journal).Order(StringComparer.Ordinal).Last();
        using (var stream = new FileStream(last, FileMode.Open))
        {
            stream.Position = JournalFiles.HeaderLength + torn.Length - 10;
            stream.Write(new byte[10]);
        }

        await using var host = await StartAsync();

        (await WaitUntilStoredAsync(clickHouse.Url, _database, [.. firstIds, .. secondIds])).Should().Be((6L, 6L));
        (await CountStoredAsync(clickHouse.Url, _database, tornIds)).Rows.Should().Be(0);
        await WaitForAsync(() => host.Journal().ReplayedRecords >= 2);
        host.Journal().ReplayedRecords.Should().Be(2);
        host.Journal().SkippedRecords.Should().Be(0, "a torn end is not damage: it was never acknowledged");
        host.Logs.Entries.Should().Contain(e => e.Message.Contains("cut off", StringComparison.Ordinal));
        host.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task Batches_answered_202_across_preallocated_segments_are_all_replayed_from_the_files_a_kill_leaves()
    {
        // Small segments, and a linger long enough that nothing is inserted: every batch is only in the journal's files.
        var more = new Dictionary<string, string?>
        {
            ["ErrorHub:Ingest:Journal:SegmentBytes"] = "65536",
            ["ErrorHub:Ingest:Journal:InsertLinger"] = "00:01:00",
        };
        var ids = new List<Guid>();
        var killed = NewDirectory();
        try
        {
            await using (var host = await StartAsync(more))
            {
                for (var i = 0; i < 40; i++)
                {
                    var (batch, batchIds) = SampleBatch.WithFreshIds(copies: 5);
                    using var response = await host.PostAsync(Wire.Encode(batch), gzip: i % 2 == 0);
                    response.StatusCode.Should().Be(HttpStatusCode.Accepted);
                    ids.AddRange(batchIds);
                }

                host.Journal().Segments.Should().BeGreaterThan(2, "the batches fill several segments of 64 KB");

                // What a kill -9 leaves: the files as they are once every 202 was answered.
                foreach (var file in Directory.GetFiles(_journal, "*" + JournalFiles.SegmentExtension))
                {
                    File.Copy(file, Path.Combine(killed, Path.GetFileName(file)));
                }
            }

            Directory.GetFiles(killed).Should().AllSatisfy(f => new FileInfo(f).Length.Should().BeGreaterThanOrEqualTo(65536, "segments are preallocated"));
            var database = ClickHouseServerFixture.NewDatabaseName("journal");
            await using var restarted = await IngestHost.StartAsync(Settings(clickHouse.Url, database, killed));

            (await WaitUntilStoredAsync(clickHouse.Url, database, ids)).Should().Be((600L, 600L), "every batch answered 202 is in the files, each once");
            restarted.Journal().SkippedRecords.Should().Be(0);
            restarted.Logs.Entries.Should().NotContain(e => e.Message.Contains("cut off", StringComparison.Ordinal), "the zeros after the last record are not a torn write");
            restarted.Logs.Errors.Should().BeEmpty();
        }
        finally
        {
            IngestHost.DeleteDirectory(killed);
        }
    }

    [Fact]
    public async Task A_segment_deleted_while_ingest_writes_it_gets_503_for_the_batch_it_would_lose_and_later_batches_go_to_a_new_segment()
    {
        var more = new Dictionary<string, string?> { ["ErrorHub:Ingest:Journal:InsertLinger"] = "00:01:00" }; // nothing inserted meanwhile
        var killed = NewDirectory();
        try
        {
            IReadOnlyCollection<Guid> afterIds;
            await using (var host = await StartAsync(more))
            {
                using (var first = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds(copies: 2).Batch)))
                {
                    first.StatusCode.Should().Be(HttpStatusCode.Accepted);
                }

                File.Delete(Segments(_journal).Single()); // by hand, or a cleanup job, while ingest has it open

                var (lost, _) = SampleBatch.WithFreshIds(copies: 2);
                using var refused = await host.PostAsync(Wire.Encode(lost));
                refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a write into a file no name leads to is not durable: the client keeps the batch and retries");
                var (after, ids) = SampleBatch.WithFreshIds(copies: 2);
                afterIds = ids;
                using var accepted = await host.PostAsync(Wire.Encode(after));
                accepted.StatusCode.Should().Be(HttpStatusCode.Accepted);
                host.Logs.Errors.Should().Contain(e => e.Message.Contains("writing 1 batches failed", StringComparison.Ordinal));

                // What a kill -9 leaves.
                Segments(_journal).Should().ContainSingle("the batch after the loss went to a new segment");
                foreach (var file in Segments(_journal))
                {
                    File.Copy(file, Path.Combine(killed, Path.GetFileName(file)));
                }
            }

            var database = ClickHouseServerFixture.NewDatabaseName("journal");
            await using var restarted = await IngestHost.StartAsync(Settings(clickHouse.Url, database, killed));
            (await WaitUntilStoredAsync(clickHouse.Url, database, afterIds)).Should().Be((6L, 6L), "the batch answered 202 after the loss is in a segment a restart replays");
        }
        finally
        {
            IngestHost.DeleteDirectory(killed);
        }
    }

    [Fact]
    public async Task Records_in_segments_an_earlier_release_grew_with_each_append_are_replayed_after_an_upgrade_and_ingest_goes_on()
    {
        // Written as releases before preallocated segments did: records one after the other, the file exactly as long as
        // they are, the last one torn by a crash (the file ends inside it).
        var (first, firstIds) = FreshRecord();
        var (second, secondIds) = FreshRecord();
        var (torn, tornIds) = FreshRecord();
        byte[] segment = [.. EarlierRecord(1, first), .. EarlierRecord(2, second), .. EarlierRecord(3, torn)];
        File.WriteAllBytes(Path.Combine(_journal, "0000000000000000001" + JournalFiles.SegmentExtension), segment[..^40]);

        await using var host = await StartAsync();

        (await WaitUntilStoredAsync(clickHouse.Url, _database, [.. firstIds, .. secondIds])).Should().Be((6L, 6L));
        (await CountStoredAsync(clickHouse.Url, _database, tornIds)).Rows.Should().Be(0);
        await WaitForAsync(() => host.Journal().ReplayedRecords >= 2);
        host.Journal().ReplayedRecords.Should().Be(2);
        host.Journal().SkippedRecords.Should().Be(0);
        host.Logs.Entries.Should().Contain(e => e.Message.Contains("cut off", StringComparison.Ordinal));

        var (batch, ids) = SampleBatch.WithFreshIds();
        using (var response = await host.PostAsync(Wire.Encode(batch)))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        (await WaitUntilStoredAsync(clickHouse.Url, _database, ids)).Should().Be((3L, 3L), "after the upgrade new batches go to new, preallocated segments");
        await host.StopAsync();
        host.Logs.Errors.Should().BeEmpty();
        Segments(_journal).Should().BeEmpty("the old segment is deleted once the store has it, like any other");
    }

    /// <summary>A record as the journal's format is documented (magic "EHJ1", length, sequence, CRC-32 of sequence and payload), encoded here.</summary>
    private static byte[] EarlierRecord(long sequence, byte[] payload)
    {
        var record = new byte[JournalFiles.HeaderLength + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(record, 0x314A_4845);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4), payload.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(8), sequence);
        payload.CopyTo(record, JournalFiles.HeaderLength);
        var crc = new System.IO.Hashing.Crc32();
        crc.Append(record.AsSpan(8, 8));
        crc.Append(payload);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(16), crc.GetCurrentHashAsUInt32());
        return record;
    }

    [Fact]
    public async Task A_damaged_record_inside_the_journal_is_skipped_with_a_warning_and_the_records_around_it_are_replayed()
    {
        var (first, firstIds) = FreshRecord();
        var (damaged, damagedIds) = FreshRecord();
        var (third, thirdIds) = FreshRecord();
        WriteJournal(_journal, first, damaged, third);
        var segment = Segments(_journal).Single();
        var bytes = File.ReadAllBytes(segment);
        var damagedAt = JournalFiles.HeaderLength + first.Length + JournalFiles.HeaderLength + (damaged.Length / 2);
        bytes[damagedAt] ^= 0xFF;
        File.WriteAllBytes(segment, bytes);

        await using var host = await StartAsync();

        (await WaitUntilStoredAsync(clickHouse.Url, _database, [.. firstIds, .. thirdIds])).Should().Be((6L, 6L));
        (await CountStoredAsync(clickHouse.Url, _database, damagedIds)).Rows.Should().Be(0);
        host.Journal().SkippedRecords.Should().Be(1);
        host.Logs.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("damaged", StringComparison.Ordinal));
        using var response = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch));
        response.StatusCode.Should().Be(HttpStatusCode.Accepted, "damage in the files never stops ingest from starting and serving");
    }

    [Fact]
    public async Task Replaying_records_the_store_already_has_counts_each_event_once()
    {
        var (first, firstIds) = FreshRecord(copies: 2);
        var (second, secondIds) = FreshRecord(copies: 2);
        Guid[] ids = [.. firstIds, .. secondIds];

        await StoreThenReplayAsync(
            [first, second],
            async () => (await WaitUntilStoredAsync(clickHouse.Url, _database, ids)).Should().Be((12L, 12L)),
            async () => (await CountStoredAsync(clickHouse.Url, _database, ids)).Should().Be((12L, 12L), "the store's duplicate check by event id counts a replayed event once"),
            expectedEvents: 12);
    }

    [Fact]
    public async Task Replaying_records_whose_events_came_without_ids_counts_each_event_once()
    {
        // SDKs other than ours may send no event_id: the server names those events, and a replay must name them alike.
        var (first, _) = FreshRecord(copies: 2, withoutIds: true);
        var (second, _) = FreshRecord(withoutIds: true);

        await StoreThenReplayAsync(
            [first, second],
            async () =>
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while ((await CountAllStoredAsync(clickHouse.Url, _database)).Rows < 9 && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }

                (await CountAllStoredAsync(clickHouse.Url, _database)).Should().Be((9L, 9L));
            },
            async () => (await CountAllStoredAsync(clickHouse.Url, _database)).Should().Be((9L, 9L), "a replayed event sent without an id gets the id it got the first time, so the store counts it once"),
            expectedEvents: 9);
    }

    /// <summary>
    /// Journals the records, lets ingest store them, then starts ingest again on a copy of the journal as it was before
    /// (as if ingest had inserted them and died before its checkpoint): the same records once more.
    /// </summary>
    private async Task StoreThenReplayAsync(byte[][] records, Func<Task> stored, Func<Task> storedAfterReplay, int expectedEvents)
    {
        WriteJournal(_journal, records);
        var copy = NewDirectory();
        try
        {
            foreach (var file in Directory.GetFiles(_journal))
            {
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            }

            await using (await StartAsync())
            {
                await stored();
            }

            IngestHost.DeleteDirectory(_journal);
            Directory.Move(copy, _journal);
            await using var host = await StartAsync();
            await WaitForAsync(() => host.Journal().ReplayedRecords >= records.Length);
            host.Journal().ReplayedRecords.Should().Be(records.Length);
            await storedAfterReplay();
            var issues = await host.Issues.GetIssuesAsync(new Storage.IssueQuery(IngestHost.ProjectId) { Limit = 100 });
            issues.Items.Sum(i => i.EventCount).Should().Be(expectedEvents, "what the dashboard counts is each event once");
        }
        finally
        {
            IngestHost.DeleteDirectory(copy);
        }
    }

    [Fact]
    public async Task Records_an_earlier_version_journaled_before_batch_ids_are_stored_after_an_upgrade()
    {
        // Version 1 of the payload, as ingest wrote it before batch ids: version, flags (gzip), project, received-at ticks, body.
        var (batch, ids) = SampleBatch.WithFreshIds();
        var body = IngestHost.Gzip(Wire.Encode(batch));
        var payload = new byte[14 + body.Length];
        payload[0] = 1;
        payload[1] = 1;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(2), IngestHost.ProjectId);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(6), DateTimeOffset.UtcNow.UtcTicks);
        body.CopyTo(payload.AsSpan(14));
        WriteJournal(_journal, payload);

        await using var host = await StartAsync();

        (await WaitUntilStoredAsync(clickHouse.Url, _database, ids)).Should().Be((3L, 3L), "what an earlier version accepted is stored after the upgrade");
        host.Journal().SkippedRecords.Should().Be(0);
    }

    [Theory]
    [InlineData("a version 2 header cut short")]
    [InlineData("an unknown version")]
    [InlineData("unknown flags")]
    [InlineData("an empty payload")]
    public async Task A_whole_record_whose_payload_is_not_one_ingest_writes_is_counted_and_skipped_and_its_neighbours_are_stored(string what)
    {
        // The record's frame and checksum are intact (so it is not "damaged"): only what it carries is not a payload.
        var (first, firstIds) = FreshRecord();
        var (third, thirdIds) = FreshRecord();
        var unreadable = what switch
        {
            "a version 2 header cut short" => first[..20], // version 1's header length (14) < 20 < version 2's (30)
            "an unknown version" => [3, .. first[1..]],
            "unknown flags" => [first[0], 0x81, .. first[2..]],
            _ => [],
        };
        WriteJournal(_journal, first, unreadable, third);

        await using var host = await StartAsync();

        (await WaitUntilStoredAsync(clickHouse.Url, _database, [.. firstIds, .. thirdIds])).Should().Be((6L, 6L));
        await WaitForAsync(() => host.Journal().SkippedRecords >= 1);
        host.Journal().SkippedRecords.Should().Be(1);
        host.Logs.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("skipped batch", StringComparison.Ordinal));
        host.Logs.Errors.Should().BeEmpty();
        await host.StopAsync();
        Segments(_journal).Should().BeEmpty("an unreadable record is behind the checkpoint like a stored one: it is never replayed again");
    }

    [Fact]
    public async Task A_record_that_no_longer_validates_on_replay_is_counted_and_skipped_and_the_next_one_is_stored()
    {
        var (tooMany, tooManyIds) = FreshRecord(copies: 2); // six events
        var (fits, fitsIds) = FreshRecord(); // three
        WriteJournal(_journal, tooMany, fits);

        await using var host = await StartAsync(new() { ["ErrorHub:Ingest:MaxEventsPerBatch"] = "4" });

        (await WaitUntilStoredAsync(clickHouse.Url, _database, fitsIds)).Should().Be((3L, 3L));
        (await CountStoredAsync(clickHouse.Url, _database, tooManyIds)).Rows.Should().Be(0);
        host.Journal().SkippedRecords.Should().Be(1);
        host.Logs.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("skipped batch", StringComparison.Ordinal));
        await host.StopAsync();
        Segments(_journal).Should().BeEmpty("a skipped record is behind the checkpoint like a stored one: it is never replayed again");
    }

    [Fact]
    public async Task A_second_process_on_the_same_journal_directory_fails_at_start_and_says_why()
    {
        await using var first = await StartAsync();

        var start = () => StartAsync();

        (await start.Should().ThrowAsync<JournalLockedException>()).Which.Message.Should().Contain("in use by another process").And.Contain("ErrorHub:Ingest:Journal:Directory");
    }

    [Fact]
    public async Task The_journal_is_ignored_on_the_embedded_store_which_answers_once_stored()
    {
        await using var host = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Ingest:Journal:Enabled"] = "true",
            ["ErrorHub:Ingest:Journal:Directory"] = _journal,
        });
        var (batch, ids) = SampleBatch.WithFreshIds();

        using var response = await host.PostAsync(Wire.Encode(batch));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        host.Journal().IsActive.Should().BeFalse();
        (await host.Issues.GetEventAsync(IngestHost.ProjectId, ids[0])).Should().NotBeNull("on SQLite a 202 still means stored");
        Segments(_journal).Should().BeEmpty();
        host.Logs.Entries.Should().Contain(e => e.Message.Contains("is ignored for the 'sqlite' store", StringComparison.Ordinal));
    }
}
