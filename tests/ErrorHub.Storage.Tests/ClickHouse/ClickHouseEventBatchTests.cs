using System.Buffers;
using System.Text;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.ClickHouse;

/// <summary>
/// The rows ingest's journal keeps until their insert (<see cref="ClickHouseEventBatch"/>: encoded by ErrorHub as soon as
/// the events are prepared, in pooled chunks) against a real server: the same rows as the driver's, a failed insert retried
/// from the same bytes, and chunks not handed to another batch while a send still reads them.
/// </summary>
[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class ClickHouseEventBatchTests : IAsyncLifetime
{
    private readonly ClickHouseServerFixture _server;
    private readonly FaultyInsertHandler _faults = new() { InnerHandler = ClickHouseClient.CreateHandler() };
    private readonly HttpClient _http;
    private readonly ClickHouseClient _client;
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseEventBatchTests));
    private readonly ClickHouseSchema _schema;
    private readonly ClickHouseEventWriter _writer;

    public ClickHouseEventBatchTests(ClickHouseServerFixture server)
    {
        _server = server;
        _http = new HttpClient(_faults);
        _client = new ClickHouseClient(_http, new ClickHouseConnection(server.Url));
        _schema = new ClickHouseSchema(_database);
        _writer = new ClickHouseEventWriter(_client, _schema);
    }

    public Task InitializeAsync() => ClickHouseDatabase.Open(_client, _database).Schema.EnsureSchemaAsync();

    public async Task DisposeAsync()
    {
        await _client.ExecuteAsync($"DROP DATABASE IF EXISTS {ClickHouseSql.QuoteIdentifier(_database)}", CancellationToken.None);
        _http.Dispose();
    }

    /// <summary>Events that reach every column, each string column with the hostile strings, and values the columns must clamp.</summary>
    private static List<ErrorEvent> HostileEvents()
    {
        var complete = TestEvents.CreateComplete(7, "fp-" + TestEvents.HostileStrings[3], TestEvents.BaseTime);
        var hostile = TestEvents.HostileStrings.Concat([new string(Enumerable.Range(0, 128).Select(i => (char)i).ToArray()), "\ud800 lone surrogate", "𝄞", new string('x', 300)]).ToList();
        var events = new List<ErrorEvent> { complete };
        for (var i = 0; i < hostile.Count; i++)
        {
            var s = hostile[i];
            events.Add(complete with
            {
                EventId = Guid.NewGuid(),
                Fingerprint = s,
                GroupingVersion = i == 0 ? 70_000 : i,
                Timestamp = i == 1 ? DateTimeOffset.UnixEpoch.AddDays(-3) : i == 2 ? new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero) : complete.Timestamp.AddSeconds(i),
                Level = s,
                Title = s,
                Culprit = s,
                Message = i % 2 == 0 ? null : s,
                Logger = s,
                Platform = i % 3 == 0 ? null : s,
                Release = s,
                Environment = s,
                ServerName = s,
                Exceptions = i == 3 ? [] :
                [
                    new ExceptionRecord(s, s, i % 2 == 0 ? null : s,
                        [new FrameRecord(s, s, s, s, -5, int.MaxValue, InApp: true), new FrameRecord(s, null, null, null, null, null, InApp: false)]),
                    new ExceptionRecord("Inner" + s, s, s, []),
                ],
                User = i == 4 ? null : new UserRecord(s, s, s, s),
                Request = i == 5 ? null : new RequestRecord(s, s, s, new Dictionary<string, string> { [s] = s }),
                Tags = new Dictionary<string, string> { [s] = s, ["k" + i] = s + s },
            });
        }

        return events;
    }

    [Fact]
    public async Task Rows_encoded_by_ErrorHub_read_back_byte_for_byte_as_the_drivers_rows_of_the_same_events_hostile_strings_included()
    {
        var events = HostileEvents();
        var byDriver = ClickHouseSql.QuoteIdentifier(_database) + ".events_by_driver";
        await _client.ExecuteAsync($"CREATE TABLE {byDriver} AS {_schema.Events}", CancellationToken.None);
        await _client.InsertAsync(byDriver, events.ConvertAll(e => new ClickHouseEventRow(e)), CancellationToken.None);

        using (var batch = _writer.CreateBatch(events.Count))
        {
            await batch.AddAsync(events);
            await batch.InsertAsync();
        }

        var ours = await SelectAllAsTextAsync(_schema.Events);
        var drivers = await SelectAllAsTextAsync(byDriver);
        ours.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(events.Count);
        ours.Should().Be(drivers);
        (await StoredGroupingsAsync()).Should().BeEquivalentTo(ExpectedGroupings(events));

        // And as the dashboard reads them: each event whole from its payload.
        var store = ClickHouseDatabase.Open(_client, _database);
        foreach (var e in events.Take(3))
        {
            var read = await store.Issues.GetEventAsync(e.ProjectId, e.EventId);
            read.Should().BeEquivalentTo(e with { EarlierLegacyFingerprints = null }, o => o.Excluding(x => x.Timestamp).Excluding(x => x.ReceivedAt));
        }
    }

    /// <summary>A chain made afresh each call (equal by value, never the same lists), and chains that differ from it in one field each.</summary>
    private static List<ExceptionRecord> Chain(Func<FrameRecord, int, FrameRecord>? frame = null, Func<ExceptionRecord, int, ExceptionRecord>? exception = null)
    {
        List<FrameRecord> Frames(int e) =>
        [
            .. new[]
            {
                new FrameRecord("Checkout", "Shop.Cart", "Shop", "/src/Shop/Cart.cs", 41 + e, 9, InApp: true),
                new FrameRecord("<Pay>b__12_0", "Shop.Payments+<>c", "Shop", "/src/Shop/Payments.cs", 7, 3, InApp: true),
                new FrameRecord("ThrowIfNull", "System.ArgumentNullException", "System.Private.CoreLib", null, null, null, InApp: false),
            }.Select((f, i) => frame is null ? f : frame(f, i)),
        ];

        return
        [
            .. new[]
            {
                new ExceptionRecord("System.InvalidOperationException", "The cart 'grüße' is closed.", "System.Private.CoreLib", Frames(0)),
                new ExceptionRecord("System.ArgumentNullException", "Value cannot be null. (Parameter 'card')", null, Frames(1)),
            }.Select((x, i) => exception is null ? x : exception(x, i)),
        ];
    }

    /// <summary>Every field of the chain that a row or its payload holds, changed in one place each.</summary>
    private static IEnumerable<(string Differs, List<ExceptionRecord> Chain)> ChainsDifferingInOneField()
    {
        yield return ("nothing (an equal chain)", Chain());
        yield return ("an exception's type", Chain(exception: (x, i) => i == 1 ? x with { Type = "System.ArgumentException" } : x));
        yield return ("an exception's message", Chain(exception: (x, i) => i == 1 ? x with { Value = x.Value + "." } : x));
        yield return ("an exception's module", Chain(exception: (x, i) => i == 1 ? x with { Module = "System.Runtime" } : x));
        yield return ("a frame's function", Chain((f, i) => i == 1 ? f with { Function = "<Pay>b__14_0" } : f));
        yield return ("a frame's type", Chain((f, i) => i == 1 ? f with { Type = "Shop.Payments" } : f));
        yield return ("a frame's module", Chain((f, i) => i == 2 ? f with { Module = "System.Runtime" } : f));
        yield return ("a frame's file", Chain((f, i) => i == 0 ? f with { File = "/src/Shop/Cart2.cs" } : f));
        yield return ("a frame's line", Chain((f, i) => i == 0 ? f with { Line = f.Line + 100 } : f));
        yield return ("a frame's column", Chain((f, i) => i == 0 ? f with { Column = 10 } : f));
        yield return ("a frame's in-app flag", Chain((f, i) => i == 1 ? f with { InApp = false } : f));
        yield return ("one more frame", Chain(exception: (x, i) => i == 1 ? x with { Frames = [.. x.Frames, x.Frames[0]] } : x));
        yield return ("one exception fewer", [Chain()[0]]);
        yield return ("the frames' order", Chain(exception: (x, i) => i == 0 ? x with { Frames = [.. x.Frames.Reverse()] } : x));
        yield return ("the exceptions' order", [Chain()[1], Chain()[0]]);
    }

    [Fact]
    public async Task Events_of_equal_exception_chains_share_encoded_bytes_and_a_chain_differing_in_any_field_does_not_their_rows_equal_the_drivers()
    {
        // Through one batch in both orders: each variant after the chain it differs from, then before it. A key that left
        // out a field would give the later event the earlier one's columns and payload, and its row would differ from the driver's.
        var variants = ChainsDifferingInOneField().ToList();
        var chains = new List<List<ExceptionRecord>> { Chain() };
        chains.AddRange(variants.Select(v => v.Chain));
        chains.AddRange(variants.AsEnumerable().Reverse().Select(v => v.Chain));
        chains.Add(Chain());
        var complete = TestEvents.CreateComplete(7, "fp", TestEvents.BaseTime);
        var events = chains.Select((chain, i) => complete with { EventId = Guid.NewGuid(), Timestamp = complete.Timestamp.AddSeconds(i), Exceptions = chain }).ToList();

        var byDriver = ClickHouseSql.QuoteIdentifier(_database) + ".events_by_driver";
        await _client.ExecuteAsync($"CREATE TABLE {byDriver} AS {_schema.Events}", CancellationToken.None);
        await _client.InsertAsync(byDriver, events.ConvertAll(e => new ClickHouseEventRow(e)), CancellationToken.None);
        using (var batch = _writer.CreateBatch(events.Count))
        {
            await batch.AddAsync(events);
            ((ClickHouseEventBatch)batch).CachedChains.Should().Be(variants.Count, "each distinct chain is encoded once, its equal copies are not kept again");
            await batch.InsertAsync();
        }

        var ours = (await SelectAllAsTextAsync(_schema.Events)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var drivers = (await SelectAllAsTextAsync(byDriver)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        ours.Should().HaveCount(events.Count).And.Equal(drivers);
        (await StoredGroupingsAsync()).Should().BeEquivalentTo(ExpectedGroupings(events));

        var store = ClickHouseDatabase.Open(_client, _database);
        foreach (var e in events)
        {
            var read = await store.Issues.GetEventAsync(e.ProjectId, e.EventId);
            read!.Exceptions.Should().BeEquivalentTo(e.Exceptions, o => o.WithStrictOrdering(), "the payload read back holds the event's own chain");
        }
    }

    public static TheoryData<FaultyInsertHandler.Fault> Faults => new() { FaultyInsertHandler.Fault.BrokenWhileSending, FaultyInsertHandler.Fault.AnswerLost };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task An_insert_that_fails_is_retried_from_the_same_bytes_and_stores_every_event_once(FaultyInsertHandler.Fault fault)
    {
        var events = Enumerable.Range(0, 3_000).Select(i => TestEvents.CreateComplete(7, "fp-" + (i % 7), TestEvents.BaseTime.AddSeconds(i))).ToList();
        _faults.Next = fault;

        using var batch = _writer.CreateBatch(events.Count);
        await batch.AddAsync(events);
        ((ClickHouseEventBatch)batch).EncodedBytes.Should().BeGreaterThan(2 * ClickHouseEventBatch.ChunkBytes, "the rows span several chunks");
        var failed = () => batch.InsertAsync();
        await failed.Should().ThrowAsync<ClickHouseException>();
        _faults.Next.Should().Be(FaultyInsertHandler.Fault.None, "the fault happened");

        await batch.InsertAsync();

        var rows = await _client.QueryAsync(
            $"SELECT count() AS n, uniqExact(event_id) AS ids FROM {_schema.Events}",
            row => (Rows: ClickHouseClient.ReadInt64(row.GetProperty("n")), Ids: ClickHouseClient.ReadInt64(row.GetProperty("ids"))),
            CancellationToken.None);
        rows.Should().Equal((3_000L, 3_000L));
        var stored = await _client.QueryAsync(
            $"SELECT toString(event_id) AS id FROM {_schema.Events}",
            row => Guid.Parse(row.GetProperty("id").GetString()!),
            CancellationToken.None);
        stored.Should().BeEquivalentTo(events.Select(e => e.EventId));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_event_whose_legacy_fingerprint_is_an_issue_is_filed_under_it_even_when_the_look_up_fails_as_it_is_added(bool lookUpFailsAtAdd)
    {
        var store = ClickHouseDatabase.Open(_client, _database);
        await store.Events.InsertEventsAsync([TestEvents.Create(7, "made-by-version-3", TestEvents.BaseTime)]);
        var regrouped = TestEvents.Create(7, "made-by-version-4", TestEvents.BaseTime.AddMinutes(1)) with { LegacyFingerprint = "made-by-version-3" };
        _faults.Next = lookUpFailsAtAdd ? FaultyInsertHandler.Fault.LegacyLookUpFails : FaultyInsertHandler.Fault.None;

        using (var batch = _writer.CreateBatch(1))
        {
            await batch.AddAsync([regrouped]);
            _faults.Next.Should().Be(FaultyInsertHandler.Fault.None);
            await batch.InsertAsync();
        }

        var stored = await store.Issues.GetEventAsync(7, regrouped.EventId);
        stored!.Fingerprint.Should().Be("made-by-version-3", "the issue made before the grouping change keeps receiving its events");
        var rows = await _client.QueryAsync(
            $"SELECT fingerprint FROM {_schema.Events} WHERE event_id = toUUID('{regrouped.EventId}')",
            row => row.GetProperty("fingerprint").GetString(),
            CancellationToken.None);
        rows.Should().Equal("made-by-version-3");
    }

    [Fact]
    public async Task A_batch_disposed_while_its_rows_are_being_sent_keeps_its_chunks_until_the_send_has_read_them()
    {
        var events = Enumerable.Range(0, 1_000).Select(i => TestEvents.CreateComplete(7, "fp", TestEvents.BaseTime.AddSeconds(i))).ToList();
        var pool = new CountingPool();
        var batch = new ClickHouseEventBatch(_writer, events.Count, pool);
        await batch.AddAsync(events);
        var chunks = pool.Rented;
        chunks.Should().BeGreaterThan(1);
        _faults.Next = FaultyInsertHandler.Fault.HeldWhileSending;

        var insert = batch.InsertAsync();
        await _faults.Holding.Task.WaitAsync(TimeSpan.FromSeconds(30));
        batch.Dispose(); // a stop that gave up on the insert while the transport still reads its body
        pool.Returned.Should().Be(0, "the send still reads the rows");
        _faults.Release.SetResult();
        await insert;

        pool.Returned.Should().Be(chunks, "the chunks go back once the send has read them");
        var stored = await _client.QueryAsync(
            $"SELECT toString(event_id) AS id FROM {_schema.Events}",
            row => Guid.Parse(row.GetProperty("id").GetString()!),
            CancellationToken.None);
        stored.Should().BeEquivalentTo(events.Select(e => e.EventId), "what was sent was read before the chunks went back");
    }

    [Fact]
    public async Task Only_the_rows_of_each_issues_earliest_second_in_an_insert_carry_their_grouping_and_the_issue_keeps_its_first_events_grouping()
    {
        static ErrorEvent Event(string fingerprint, int second, string component) =>
            TestEvents.CreateComplete(7, fingerprint, TestEvents.BaseTime.AddSeconds(second)) with
            {
                GroupingVersion = 8,
                GroupingComponents = [new GroupingComponent("type", component), new GroupingComponent("app", "Shop.Cart.Checkout")],
            };

        IssueGrouping Grouping(string component) => IssueGrouping.Of(Event("x", 0, component))!;
        var store = ClickHouseDatabase.Open(_client, _database);

        // One insert: issue "a" has two events in its earliest second (either may be the one issue_firsts takes: both keep
        // theirs) and later ones grouped otherwise; issue "b" one event, whose second is the earliest of its issue.
        var firstTwo = new[] { Event("a", 5, "first"), Event("a", 5, "first") };
        var later = Enumerable.Range(6, 40).Select(s => Event("a", s, "later-" + s)).ToList();
        var b = Event("b", 30, "b");
        List<ErrorEvent> first = [.. later.Take(20), firstTwo[1], b, .. later.Skip(20), firstTwo[0]];
        await InsertAsync(first);
        var groupings = await StoredGroupingsAsync();
        groupings.Where(g => g.Value != "").Select(g => g.Key).Should().BeEquivalentTo([firstTwo[0].EventId, firstTwo[1].EventId, b.EventId],
            "only the rows issue_firsts can take an issue's first grouping from carry one; the others are some 300 bytes narrower");
        groupings[b.EventId].Should().Be(EventPayloadJson.SerializeGrouping(b));
        (await store.Issues.GetIssueAsync(7, "a"))!.Grouping.Should().BeEquivalentTo(Grouping("first"));
        (await store.Issues.GetIssueAsync(7, "b"))!.Grouping.Should().BeEquivalentTo(Grouping("b"));

        // A retry whose earliest rows are stored already (the duplicate look-up leaves them out): the next earliest carries its
        // grouping; the issue keeps its first event's.
        var retried = new[] { Event("a", 7, "retried-7"), Event("a", 8, "retried-8") };
        await InsertAsync([firstTwo[0], retried[1], firstTwo[1], retried[0]]);
        groupings = await StoredGroupingsAsync();
        groupings[retried[0].EventId].Should().Be(EventPayloadJson.SerializeGrouping(retried[0]));
        groupings[retried[1].EventId].Should().BeEmpty();
        (await store.Issues.GetIssueAsync(7, "a"))!.Grouping.Should().BeEquivalentTo(Grouping("first"));

        // An event older than the issue's first, in a later insert, names it from then on (as an earlier first event always did).
        var older = Event("a", 1, "older");
        await InsertAsync([Event("a", 50, "newest"), older]);
        (await store.Issues.GetIssueAsync(7, "a"))!.Grouping.Should().BeEquivalentTo(Grouping("older"));
        (await store.Issues.GetIssueAsync(7, "a"))!.EventCount.Should().Be(46);
        (await StoredGroupingsAsync()).Should().HaveCount(47);

        // Every event still reads whole, its own grouping included (from its payload).
        foreach (var e in later.Take(3).Append(retried[1]))
        {
            var read = await store.Issues.GetEventAsync(7, e.EventId);
            read!.GroupingComponents.Should().BeEquivalentTo(e.GroupingComponents, o => o.WithStrictOrdering());
        }

        async Task InsertAsync(List<ErrorEvent> events)
        {
            using var batch = _writer.CreateBatch(events.Count);
            await batch.AddAsync(events);
            await batch.InsertAsync();
        }
    }

    [Fact]
    public async Task Rows_go_to_ClickHouse_in_the_events_tables_sorting_key_order_so_it_does_not_sort_and_copy_the_insert()
    {
        // Events of many issues, days and ids in no order (times running backwards within each issue), as a journal's insert
        // gathers them from many clients; hostile fingerprints (non-ASCII, a character above U+FFFF) compare as UTF-8.
        var fingerprints = Enumerable.Range(0, 40).Select(i => i % 4 == 0 ? $"fp-é-{i}" : i % 4 == 1 ? $"fp-𝄞-{i}" : i % 4 == 2 ? $"fp-\uffef-{i}" : $"FP-{i}").ToList();
        var events = Enumerable.Range(0, 2_000)
            .Select(i => TestEvents.CreateComplete(7 + (i % 3), fingerprints[(i * 7) % fingerprints.Count], TestEvents.BaseTime.AddHours(60).AddMinutes(-i)))
            .ToList();
        var sortedBefore = await AlreadySortedBlocksAsync();

        using (var batch = _writer.CreateBatch(events.Count))
        {
            await batch.AddAsync(events);
            await batch.InsertAsync();
        }

        (await AlreadySortedBlocksAsync() - sortedBefore).Should().BeGreaterThanOrEqualTo(1,
            "the events table's block arrived in its sorting key's order, which ClickHouse then does not sort (a copy of every column)");
        var stored = await _client.QueryAsync(
            $"SELECT toString(event_id) AS id FROM {_schema.Events}",
            row => Guid.Parse(row.GetProperty("id").GetString()!),
            CancellationToken.None);
        stored.Should().BeEquivalentTo(events.Select(e => e.EventId), "every event is stored once, whatever the order it was sent in");
    }

    /// <summary>Each stored event's <c>grouping</c> column, by event id.</summary>
    private async Task<Dictionary<Guid, string>> StoredGroupingsAsync() => (await _client.QueryAsync(
        $"SELECT toString(event_id) AS id, grouping FROM {_schema.Events}",
        row => (Id: Guid.Parse(row.GetProperty("id").GetString()!), Grouping: row.GetProperty("grouping").GetString()!),
        CancellationToken.None)).ToDictionary(r => r.Id, r => r.Grouping);

    /// <summary>
    /// What one insert of <paramref name="events"/> stores in <c>grouping</c>: the event's own for the events of its issue's
    /// earliest second in the insert (as stored: clamped to DateTime's range), an empty string for the others.
    /// </summary>
    private static Dictionary<Guid, string> ExpectedGroupings(IReadOnlyList<ErrorEvent> events)
    {
        static long Second(ErrorEvent e) => ClickHouseEventRow.ClampToDateTime(e.Timestamp).ToUnixTimeSeconds();
        var first = events.GroupBy(e => (e.ProjectId, e.Fingerprint)).ToDictionary(g => g.Key, g => g.Min(Second));
        return events.ToDictionary(e => e.EventId, e => Second(e) == first[(e.ProjectId, e.Fingerprint)] ? EventPayloadJson.SerializeGrouping(e) : "");
    }

    /// <summary>Blocks ClickHouse's MergeTree writer found in their table's order since the server started (inserts only, not merges).</summary>
    private async Task<long> AlreadySortedBlocksAsync() => (await _client.QueryAsync(
        "SELECT sum(value) AS n FROM system.events WHERE event = 'MergeTreeDataWriterBlocksAlreadySorted'",
        row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
        CancellationToken.None))[0];

    /// <summary>
    /// Every column but <c>grouping</c>, which the driver's rows hold for every event and an insert only for each issue's
    /// earliest second (<see cref="ExpectedGroupings"/>).
    /// </summary>
    private async Task<string> SelectAllAsTextAsync(string table)
    {
        // TabSeparated escapes every byte it cannot print as is: equal text is equal bytes.
        ClickHouseEventEncoding.Columns.Should().EndWith(", grouping");
        var columns = ClickHouseEventEncoding.Columns[..^", grouping".Length];
        var query = $"SELECT {columns} FROM {table} ORDER BY event_id FORMAT TabSeparated";
        using var response = await _http.PostAsync(_server.Url, new StringContent(query, Encoding.UTF8));
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Faults of the next INSERT's transport, the server real otherwise.</summary>
    public sealed class FaultyInsertHandler : DelegatingHandler
    {
        public enum Fault
        {
            None,

            /// <summary>The connection breaks after part of the rows was sent: nothing stored.</summary>
            BrokenWhileSending,

            /// <summary>The server stores the rows, and its answer never arrives.</summary>
            AnswerLost,

            /// <summary>The body is read up to a point, then held until <see cref="Release"/>; then sent on whole.</summary>
            HeldWhileSending,

            /// <summary>The next look-up of legacy fingerprints (not an INSERT) fails to reach the server.</summary>
            LegacyLookUpFails,
        }

        public Fault Next { get; set; }

        public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var fault = Next;
            var query = Uri.UnescapeDataString(request.RequestUri?.Query ?? "");
            if (fault == Fault.LegacyLookUpFails && query.Contains("issue_hourly", StringComparison.Ordinal))
            {
                Next = Fault.None;
                throw new HttpRequestException("the legacy look-up could not reach the server");
            }

            if (fault is Fault.None or Fault.LegacyLookUpFails || !query.Contains("INSERT", StringComparison.Ordinal))
            {
                return await base.SendAsync(request, cancellationToken);
            }

            Next = Fault.None;
            var body = new HoldingStream(fault == Fault.HeldWhileSending ? this : null);
            await request.Content!.CopyToAsync(body, cancellationToken);
            switch (fault)
            {
                case Fault.BrokenWhileSending:
                    throw new HttpRequestException("the connection broke while the rows were being sent");
                case Fault.AnswerLost:
                    using (await base.SendAsync(Resend(request, body), cancellationToken))
                    {
                        throw new HttpRequestException("the answer never arrived");
                    }

                default:
                    return await base.SendAsync(Resend(request, body), cancellationToken);
            }
        }

        private static HttpRequestMessage Resend(HttpRequestMessage request, MemoryStream body)
        {
            var copy = new HttpRequestMessage(request.Method, request.RequestUri) { Content = new ByteArrayContent(body.ToArray()) };
            copy.Headers.Authorization = request.Headers.Authorization;
            return copy;
        }

        private sealed class HoldingStream(FaultyInsertHandler? holder) : MemoryStream
        {
            public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
            {
                if (holder is not null && Length > 0)
                {
                    holder.Holding.TrySetResult();
                    await holder.Release.Task;
                }

                Write(buffer.Span);
            }
        }
    }

    /// <summary>A pool that counts what its batch rents and returns.</summary>
    private sealed class CountingPool : ArrayPool<byte>
    {
        private int _rented;
        private int _returned;

        public int Rented => Volatile.Read(ref _rented);

        public int Returned => Volatile.Read(ref _returned);

        public override byte[] Rent(int minimumLength)
        {
            Interlocked.Increment(ref _rented);
            return new byte[minimumLength];
        }

        public override void Return(byte[] array, bool clearArray = false) => Interlocked.Increment(ref _returned);
    }
}
