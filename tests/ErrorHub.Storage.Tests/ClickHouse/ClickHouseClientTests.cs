using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ClickHouseColumnAttribute = ClickHouse.Driver.ClickHouseColumnAttribute;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Storage.Tests.ClickHouse;

/// <summary>The client (the driver and our glue) against a real server: encodings, quoting and errors as ClickHouse itself sees them.</summary>
[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class ClickHouseClientTests : IAsyncLifetime
{
    private readonly ClickHouseServerFixture _server;
    private readonly HttpClient _http = new(ClickHouseClient.CreateHandler());
    private readonly ClickHouseClient _client;
    private readonly string _database = ClickHouseSql.QuoteIdentifier(ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseClientTests)));

    public ClickHouseClientTests(ClickHouseServerFixture server)
    {
        _server = server;
        _client = new ClickHouseClient(_http, new ClickHouseConnection(server.Url));
    }

    public Task InitializeAsync() => _client.ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {_database}", CancellationToken.None);

    public async Task DisposeAsync()
    {
        await _client.ExecuteAsync($"DROP DATABASE IF EXISTS {_database}", CancellationToken.None);
        _http.Dispose();
    }

    [Fact]
    public async Task The_server_version_is_detected()
    {
        var version = await _client.GetServerVersionAsync(CancellationToken.None);

        version.Should().MatchRegex(@"^\d+\.\d+").And.Be(_server.ServerVersion);
    }

    public static TheoryData<string> Hostile => new(TestEvents.HostileStrings.Concat(
    [
        new string(Enumerable.Range(0, 128).Select(i => (char)i).ToArray()),
        "\\",
        "'",
        "\\'",
        "x\\",
        "\u00a0\u2028\u2029\ufeff",
        "𝄞 surrogate pair",
    ]));

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task A_quoted_literal_reads_back_byte_for_byte(string value)
    {
        var literal = ClickHouseSql.Quote(value);

        var rows = await _client.QueryAsync(
            $"SELECT hex({literal}) AS bytes, {literal} AS text",
            row => (Bytes: row.GetProperty("bytes").GetString(), Text: row.GetProperty("text").GetString()),
            CancellationToken.None);

        rows.Should().ContainSingle();
        rows[0].Bytes.Should().Be(Convert.ToHexString(Encoding.UTF8.GetBytes(value)));
        rows[0].Text.Should().Be(value);
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task A_string_in_a_table_of_keys_sent_beside_a_query_reads_back_byte_for_byte(string value)
    {
        // The time before a string that starts with letters: 18.x reads "0" there as the start of "YYYY-MM-DD hh:mm:ss".
        using var keys = new ClickHouseKeyTable("keys", "id UInt32, time DateTime, text String, event_id UUID");
        var id = Guid.NewGuid();
        keys.Add(7).AddUnixSeconds(DateTimeOffset.FromUnixTimeSeconds(1_764_790_000)).Add(value).Add(id).EndRow();
        keys.Add(8).AddUnixSeconds(new DateTimeOffset(1960, 1, 1, 0, 0, 0, TimeSpan.Zero)).Add("late: " + value + "\t" + value).Add(Guid.Empty).EndRow();

        var rows = await _client.QueryWithKeysAsync(
            "SELECT id, hex(text) AS bytes, text, toUnixTimestamp(time) AS time, toString(event_id) AS event_id FROM keys ORDER BY id",
            keys,
            row => (Bytes: row.GetProperty("bytes").GetString(), Text: row.GetProperty("text").GetString(), Time: ClickHouseClient.ReadInt64(row.GetProperty("time")), EventId: row.GetProperty("event_id").GetString()),
            CancellationToken.None);

        rows.Should().HaveCount(2);
        rows[0].Bytes.Should().Be(Convert.ToHexString(Encoding.UTF8.GetBytes(value)));
        rows[0].Text.Should().Be(value);
        rows[0].Time.Should().Be(1_764_790_000, "seconds since the epoch, whatever the server's time zone");
        rows[0].EventId.Should().Be(id.ToString("D"));
        rows[1].Text.Should().Be("late: " + value + "\t" + value);
        rows[1].Time.Should().Be(0, "a time before what DateTime holds is its first second, as the events table stores it");
    }

    [Fact]
    public async Task A_query_with_a_table_of_keys_is_sent_as_the_configured_user()
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(_server.Url, "default", "definitely-not-the-password"));
        using var keys = new ClickHouseKeyTable("keys", "id UInt32");
        keys.Add(1).EndRow();

        var query = () => client.QueryWithKeysAsync("SELECT id FROM keys", keys, row => row.GetProperty("id").GetInt32(), CancellationToken.None);

        var error = (await query.Should().ThrowAsync<ClickHouseException>()).Which;
        error.Message.Should().ContainEquivalentOf("password").And.Contain("SELECT id FROM keys");
        (await _client.QueryWithKeysAsync("SELECT id FROM keys", keys, row => row.GetProperty("id").GetInt32(), CancellationToken.None)).Should().Equal(1);
    }

    [Fact]
    public async Task A_quoted_literal_cannot_end_the_statement()
    {
        await _client.ExecuteAsync($"CREATE TABLE {_database}.victim (x UInt8) ENGINE = Memory", CancellationToken.None);

        var rows = await _client.QueryAsync(
            $"SELECT {ClickHouseSql.Quote($"'; DROP TABLE {_database}.victim; --")} AS text",
            row => row.GetProperty("text").GetString(),
            CancellationToken.None);

        rows.Should().ContainSingle();
        var tables = await _client.QueryAsync(
            $"SELECT name FROM system.tables WHERE database = {ClickHouseSql.Quote(_database.Trim('`'))}",
            row => row.GetProperty("name").GetString(),
            CancellationToken.None);
        tables.Should().Contain("victim");
    }

    [Fact]
    public async Task Uuids_inserted_read_back_as_the_same_text()
    {
        await _client.ExecuteAsync($"CREATE TABLE {_database}.ids (n UInt32, id UUID) ENGINE = Memory", CancellationToken.None);
        var ids = new[]
        {
            Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"),
            Guid.Parse("ffffffff-0000-0000-0000-000000000001"),
            Guid.Parse("00000000-0000-0000-8000-000000000000"),
            Guid.Empty,
            Guid.NewGuid(),
            Guid.NewGuid(),
        };

        await _client.InsertAsync($"{_database}.ids", ids.Select((id, n) => new IdRow((uint)n, id)).ToList(), CancellationToken.None);

        var stored = await _client.QueryAsync(
            $"SELECT toString(id) AS id FROM {_database}.ids ORDER BY n",
            row => row.GetProperty("id").GetString(),
            CancellationToken.None);
        stored.Should().Equal(ids.Select(id => id.ToString("D")));
        var found = await _client.QueryAsync(
            $"SELECT n FROM {_database}.ids WHERE id = {ClickHouseSql.Literal(ids[0])}",
            row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
            CancellationToken.None);
        found.Should().Equal(0L);
    }

    [Fact]
    public async Task Every_column_type_the_store_writes_reads_back_as_written()
    {
        await _client.ExecuteAsync(
            $"""
            CREATE TABLE {_database}.types
            (
                u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64, s String, payload String, dt DateTime('UTC'),
                names Array(String), flags Array(UInt8), small Array(UInt16), pairs Nested(k String, v UInt32)
            )
            ENGINE = Memory
            """,
            CancellationToken.None);
        var row = new TypesRow
        {
            U8 = byte.MaxValue,
            U16 = ushort.MaxValue,
            U32 = uint.MaxValue,
            U64 = ulong.MaxValue,
            S = "Grüße\0🎉",
            Payload = Encoding.UTF8.GetBytes("{\"json\":\"ü\"}"),
            Dt = new DateTimeOffset(2025, 6, 30, 23, 59, 58, TimeSpan.FromHours(2)),
            Names = ["a", "", "ü"],
            Flags = [1, 0, 1],
            Small = [0, 7, ushort.MaxValue],
            PairKeys = ["k1", "k2"],
            PairValues = [1, 70000],
        };

        await _client.InsertAsync($"{_database}.types", [row], CancellationToken.None);

        var rows = await _client.QueryAsync(
            $"""
            SELECT
                concat(toString(u8), ' ', toString(u16), ' ', toString(u32), ' ', toString(u64)) AS numbers,
                hex(s) AS s_hex, payload, toUnixTimestamp(dt) AS seconds, toString(dt) AS utc_text,
                names, flags, small, pairs.k AS keys, arrayMap(x -> toString(x), pairs.v) AS values
            FROM {_database}.types
            """,
            row => row.Clone(),
            CancellationToken.None);

        rows.Should().ContainSingle();
        var stored = rows[0];
        stored.GetProperty("numbers").GetString().Should().Be("255 65535 4294967295 18446744073709551615");
        stored.GetProperty("s_hex").GetString().Should().Be(Convert.ToHexString(Encoding.UTF8.GetBytes(row.S)));
        stored.GetProperty("payload").GetString().Should().Be("{\"json\":\"ü\"}");
        ClickHouseClient.ReadInt64(stored.GetProperty("seconds")).Should().Be(row.Dt.ToUnixTimeSeconds());
        stored.GetProperty("utc_text").GetString().Should().Be("2025-06-30 21:59:58", "DateTime('UTC') shows UTC whatever the offset written");
        stored.GetProperty("names").EnumerateArray().Select(e => e.GetString()).Should().Equal("a", "", "ü");
        stored.GetProperty("flags").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(1, 0, 1);
        stored.GetProperty("small").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(0, 7, ushort.MaxValue);
        stored.GetProperty("keys").EnumerateArray().Select(e => e.GetString()).Should().Equal("k1", "k2");
        stored.GetProperty("values").EnumerateArray().Select(e => e.GetString()).Should().Equal("1", "70000");
    }

    [Fact]
    public async Task The_exception_and_tag_columns_of_an_event_round_trip_and_its_frame_columns_are_written_empty()
    {
        var schema = new ClickHouseSchema(_database.Trim('`'));
        foreach (var statement in schema.Statements.Skip(1))
        {
            await _client.ExecuteAsync(statement, CancellationToken.None);
        }

        var complete = TestEvents.CreateComplete(3, "fp-nested", TestEvents.BaseTime);
        var empty = TestEvents.Create(3, "fp-empty", TestEvents.BaseTime) with { Exceptions = [], Tags = new Dictionary<string, string>() };

        await _client.InsertAsync(schema.Events, [new ClickHouseEventRow(complete), new ClickHouseEventRow(empty)], CancellationToken.None);

        var rows = await _client.QueryAsync(
            $"""
            SELECT toString(event_id) AS id, exceptions.type AS types, exceptions.value AS values, exceptions.module AS modules,
                   [length(frames.exception_index), length(frames.function), length(frames.type), length(frames.module),
                    length(frames.file), length(frames.line_number), length(frames.column_number), length(frames.in_app)] AS frame_lengths,
                   tags.key AS tag_keys, tags.value AS tag_values, toString(user_hash) AS user_hash,
                   toUnixTimestamp(timestamp) AS seconds, grouping_version
            FROM {schema.Events}
            ORDER BY fingerprint DESC
            """,
            row => row.Clone(),
            CancellationToken.None);

        rows.Should().HaveCount(2);
        var stored = rows[0];
        static IEnumerable<string?> Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString());
        static IEnumerable<long> Numbers(JsonElement e) => e.EnumerateArray().Select(ClickHouseClient.ReadInt64);
        stored.GetProperty("id").GetString().Should().Be(complete.EventId.ToString("D"));
        Strings(stored.GetProperty("types")).Should().Equal(complete.Exceptions.Select(x => x.Type));
        Strings(stored.GetProperty("values")).Should().Equal(complete.Exceptions.Select(x => x.Value));
        Strings(stored.GetProperty("modules")).Should().Equal(complete.Exceptions.Select(x => x.Module ?? ""));
        complete.Exceptions.Sum(x => x.Frames.Count).Should().BeGreaterThan(0);
        Numbers(stored.GetProperty("frame_lengths")).Should().Equal([0, 0, 0, 0, 0, 0, 0, 0], "the frames are in the payload only");
        Strings(stored.GetProperty("tag_keys")).Should().Equal(complete.Tags.Keys);
        Strings(stored.GetProperty("tag_values")).Should().Equal(complete.Tags.Values);
        stored.GetProperty("user_hash").GetString().Should().Be(UserHash.Of(complete.User?.Key).ToString(CultureInfo.InvariantCulture));
        ClickHouseClient.ReadInt64(stored.GetProperty("seconds")).Should().Be(complete.Timestamp.ToUnixTimeSeconds());
        ClickHouseClient.ReadInt64(stored.GetProperty("grouping_version")).Should().Be(3);
        rows[1].GetProperty("types").GetArrayLength().Should().Be(0);
        rows[1].GetProperty("tag_keys").GetArrayLength().Should().Be(0);
        rows[1].GetProperty("user_hash").GetString().Should().Be("0");
    }

    [Fact]
    public async Task Times_outside_what_DateTime_holds_are_stored_as_its_first_and_last_second()
    {
        await _client.ExecuteAsync($"CREATE TABLE {_database}.times (n UInt32, dt DateTime('UTC')) ENGINE = Memory", CancellationToken.None);

        await _client.InsertAsync(
            $"{_database}.times",
            [new TimeRow(0, new DateTimeOffset(1960, 1, 1, 0, 0, 0, TimeSpan.Zero)), new TimeRow(1, new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero))],
            CancellationToken.None);

        var seconds = await _client.QueryAsync(
            $"SELECT toUnixTimestamp(dt) AS seconds FROM {_database}.times ORDER BY n",
            row => ClickHouseClient.ReadInt64(row.GetProperty("seconds")),
            CancellationToken.None);
        seconds.Should().Equal(0L, uint.MaxValue);
    }

    [Fact]
    public async Task A_large_insert_is_one_insert()
    {
        await _client.ExecuteAsync($"CREATE TABLE {_database}.big (n UInt64, s String) ENGINE = MergeTree ORDER BY n", CancellationToken.None);
        var rows = Enumerable.Range(0, 200_000).Select(n => new BigRow((ulong)n, $"row {n} ünïcödé")).ToList();

        await _client.InsertAsync($"{_database}.big", rows, CancellationToken.None);

        var summary = await _client.QueryAsync(
            $"SELECT count() AS c, sum(n) AS total, uniqExact(s) AS distinct_s FROM {_database}.big",
            row => (ClickHouseClient.ReadInt64(row.GetProperty("c")), ClickHouseClient.ReadInt64(row.GetProperty("total")), ClickHouseClient.ReadInt64(row.GetProperty("distinct_s"))),
            CancellationToken.None);
        summary.Should().Equal((200_000L, 199_999L * 200_000L / 2, 200_000L));
        // Every INSERT writes parts of level 0; merged-away parts stay listed (inactive) for minutes.
        var insertedParts = await _client.QueryAsync(
            $"SELECT count() AS parts FROM system.parts WHERE database = {ClickHouseSql.Quote(_database.Trim('`'))} AND table = 'big' AND level = 0",
            row => ClickHouseClient.ReadInt64(row.GetProperty("parts")),
            CancellationToken.None);
        insertedParts.Should().Equal(1L);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(true, "gzip")]
    [InlineData(false, null)]
    public async Task Inserts_to_a_server_on_loopback_travel_uncompressed_unless_compression_is_asked_for(bool? compress, string? expectedEncoding)
    {
        var encodings = new List<string?>();
        await using var app = await StartFakeServerAsync("/", request =>
        {
            encodings.Add(request.Headers.ContentEncoding.Count == 0 ? null : request.Headers.ContentEncoding.ToString());
            return Results.Text("");
        });
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(app.Url, Compress: compress));

        await client.InsertAsync("db.big", [new BigRow(1, "one")], CancellationToken.None);

        encodings.Should().Equal([expectedEncoding]);
    }

    [Fact]
    public async Task A_compressed_and_an_uncompressed_insert_store_the_same_rows()
    {
        await _client.ExecuteAsync($"CREATE TABLE {_database}.both (n UInt64, s String) ENGINE = MergeTree ORDER BY n", CancellationToken.None);
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var compressed = new ClickHouseClient(http, new ClickHouseConnection(_server.Url, Compress: true));
        var rows = Enumerable.Range(0, 1000).Select(n => new BigRow((ulong)n, $"row {n} ünïcödé")).ToList();

        await compressed.InsertAsync($"{_database}.both", rows, CancellationToken.None);
        await _client.InsertAsync($"{_database}.both", rows, CancellationToken.None);

        var counts = await _client.QueryAsync(
            $"SELECT s, count() AS c FROM {_database}.both GROUP BY s HAVING c != 2",
            row => row.GetProperty("s").GetString(),
            CancellationToken.None);
        counts.Should().BeEmpty("each row arrived once by each way, byte for byte the same");
        var total = await _client.QueryAsync($"SELECT count() AS c FROM {_database}.both", row => ClickHouseClient.ReadInt64(row.GetProperty("c")), CancellationToken.None);
        total.Should().Equal(2000L);
    }

    [Fact]
    public async Task A_refused_query_throws_the_servers_code_and_message()
    {
        var syntax = () => _client.ExecuteAsync("SELEC 1", CancellationToken.None);
        var missingTable = () => _client.QueryAsync($"SELECT * FROM {_database}.no_such_table", row => 0, CancellationToken.None);
        var missingInsertTarget = () => _client.InsertAsync($"{_database}.no_such_table", [new IdRow(1, Guid.Empty)], CancellationToken.None);

        var syntaxError = (await syntax.Should().ThrowAsync<ClickHouseException>()).Which;
        syntaxError.ErrorCode.Should().Be(62);
        syntaxError.StatusCode.Should().NotBeNull();
        syntaxError.Message.Should().Contain("Code: 62").And.Contain("Syntax error").And.Contain("Query: SELEC 1");

        (await missingTable.Should().ThrowAsync<ClickHouseException>()).Which.Should().Match<ClickHouseException>(
            e => e.ErrorCode == 60 && e.Message.Contains("no_such_table") && e.StatusCode != null);
        var insertError = (await missingInsertTarget.Should().ThrowAsync<ClickHouseException>()).Which;
        insertError.ErrorCode.Should().Be(60);
        insertError.Message.Should().Contain($"Query: INSERT INTO {_database}.no_such_table");
    }

    [Fact]
    public async Task An_error_after_the_answer_started_streaming_throws_the_servers_code()
    {
        // The first rows leave the server before the failing one is computed: the error arrives as text in a 200 answer.
        var query = () => _client.QueryAsync(
            "SELECT number, throwIf(number = 300000) AS failed FROM system.numbers LIMIT 400000",
            row => row.GetProperty("number").GetString(),
            CancellationToken.None);

        var error = (await query.Should().ThrowAsync<ClickHouseException>()).Which;
        error.ErrorCode.Should().Be(395);
        error.StatusCode.Should().Be(HttpStatusCode.OK);
        error.Message.Should().StartWith("ClickHouse failed while answering").And.Contain("throwIf");
    }

    [Fact]
    public async Task An_error_framed_after_the_rows_as_current_servers_send_it_throws_the_servers_code()
    {
        // Current servers frame an error in the middle of an answer in __exception__ lines.
        await using var app = await StartFakeServerAsync("/", _ => Results.Text(
            """
            {"number":"0"}
            {"number":"1"}
            __exception__
            kqdvibmzwmlwlvbb
            Code: 395. DB::Exception: Value passed to 'throwIf' function is non-zero. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 25.3.2.39 (official build))
            139 kqdvibmzwmlwlvbb
            __exception__

            """));
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(app.Url));

        var query = () => client.QueryAsync("SELECT number FROM numbers(5)", row => row.GetProperty("number").GetString(), CancellationToken.None);

        var error = (await query.Should().ThrowAsync<ClickHouseException>()).Which;
        error.ErrorCode.Should().Be(395);
        error.Message.Should().StartWith("ClickHouse failed while answering").And.Contain("FUNCTION_THROW_IF_VALUE_IS_NON_ZERO").And.Contain("Query: SELECT number FROM numbers(5)");
    }

    [Fact]
    public async Task A_wrong_password_is_refused_by_the_server()
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(_server.Url, "default", "definitely-not-the-password"));

        var query = () => client.GetServerVersionAsync(CancellationToken.None);

        var error = (await query.Should().ThrowAsync<ClickHouseException>()).Which;
        error.Message.Should().ContainEquivalentOf("password");
        error.ErrorCode.Should().NotBeNull();
    }

    [Fact]
    public async Task The_configured_user_name_reaches_the_server()
    {
        var user = "errorhub_nobody_" + Guid.NewGuid().ToString("N")[..8];
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(_server.Url, user, "pw:with:colons"));

        var query = () => client.GetServerVersionAsync(CancellationToken.None);

        (await query.Should().ThrowAsync<ClickHouseException>()).Which.Message.Should().Contain(user);
    }

    [Fact]
    public async Task The_urls_path_the_user_and_the_password_are_sent_as_configured()
    {
        var seen = new List<(string Path, string Query, string? Authorization)>();
        await using var app = await StartFakeServerAsync("/clickhouse/", request =>
        {
            seen.Add((request.Path, request.QueryString.Value ?? "", request.Headers.Authorization.ToString()));
            return Results.Text("{\"version\":\"24.8.1\"}\n");
        });
        var url = new Uri(app.Url, "clickhouse/");
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(url, "alice", "pa:ss wörd"));

        var version = await client.GetServerVersionAsync(CancellationToken.None);

        version.Should().Be("24.8.1");
        var request = seen.Should().ContainSingle().Subject;
        request.Path.Should().Be("/clickhouse/");
        request.Authorization.Should().Be("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:pa:ss wörd")));
        request.Query.Should().NotContain("json_as_string", "18.x refuses every request that names a setting it does not know");
    }

    [Fact]
    public async Task An_https_url_is_spoken_to_with_tls()
    {
        await using var app = await StartFakeServerAsync("/", _ => Results.Text("{\"version\":\"24.8.1\"}\n"));
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(new UriBuilder(app.Url) { Scheme = "https" }.Uri));

        var query = () => client.GetServerVersionAsync(CancellationToken.None);

        // The fake server speaks plain HTTP, so a TLS handshake is what fails.
        var error = (await query.Should().ThrowAsync<ClickHouseException>()).Which;
        error.Message.Should().StartWith("Cannot reach ClickHouse at https://");
        error.InnerException.Should().BeOfType<HttpRequestException>().Which.InnerException.Should().BeAssignableTo<System.Security.Authentication.AuthenticationException>();
    }

    [Fact]
    public async Task An_ipv6_url_reaches_the_server()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://[::1]:0");
        await using var app = builder.Build();
        app.MapPost("/", () => Results.Text("{\"version\":\"24.8.1\"}\n"));
        await app.StartAsync();
        var url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/");
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(url));

        (await client.GetServerVersionAsync(CancellationToken.None)).Should().Be("24.8.1");
        url.Host.Should().Be("[::1]");
    }

    [Fact]
    public async Task A_url_where_nothing_listens_gives_a_clear_error()
    {
        var port = UnusedPort();
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(new Uri($"http://127.0.0.1:{port}/")));

        var command = () => client.ExecuteAsync("CREATE DATABASE IF NOT EXISTS x", CancellationToken.None);
        var insert = () => client.InsertAsync("x.y", [new IdRow(1, Guid.Empty)], CancellationToken.None);

        foreach (var action in new[] { command, insert })
        {
            var error = (await action.Should().ThrowAsync<ClickHouseException>()).Which;
            error.Message.Should().StartWith($"Cannot reach ClickHouse at http://127.0.0.1:{port}/").And.Contain("ErrorHub:Store:ClickHouse:Url");
            error.StatusCode.Should().BeNull("no answer came: the schema step retries on this");
            error.InnerException.Should().BeAssignableTo<Exception>().Which.Should().Match(e => e is HttpRequestException || e is IOException);
        }
    }

    [Fact]
    public async Task A_server_slower_than_the_request_timeout_gives_a_clear_error()
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromSeconds(1) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(_server.Url));

        var query = () => client.QueryAsync("SELECT sleep(3) AS slept", row => 0, CancellationToken.None);

        var error = (await query.Should().ThrowAsync<ClickHouseException>()).Which;
        error.Message.Should().Contain($"ClickHouse at {_server.Url} did not answer within 00:00:01")
            .And.Contain("ErrorHub:Store:ClickHouse:RequestTimeout").And.Contain("sleep(3)");
        error.StatusCode.Should().BeNull();
    }

    [Fact]
    public async Task A_cancelled_request_is_cancelled_not_a_timeout()
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var query = () => _client.QueryAsync("SELECT sleep(3) AS slept", row => 0, cancellation.Token);

        await query.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task A_url_of_some_other_web_server_gives_a_clear_error()
    {
        await using var app = await StartNotClickHouseAsync();
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(app.Url));

        var query = () => client.ExecuteAsync("CREATE DATABASE IF NOT EXISTS x", CancellationToken.None);

        var error = (await query.Should().ThrowAsync<ClickHouseException>()).Which;
        error.StatusCode.Should().Be(HttpStatusCode.NotFound);
        error.ErrorCode.Should().BeNull();
        error.Message.Should().Contain(app.Url.ToString()).And.Contain("404").And.Contain("Not here").And.Contain("is this ClickHouse's HTTP interface?");
    }

    [Fact]
    public async Task The_store_a_host_registers_maps_answers_through_the_same_handler()
    {
        await using var app = await StartNotClickHouseAsync();
        await using var services = new ServiceCollection()
            .AddLogging()
            .Configure<StoreOptions>(o =>
            {
                o.Kind = "clickhouse";
                o.ClickHouse.Url = app.Url.ToString();
            })
            .AddErrorHubStore()
            .BuildServiceProvider();

        var ensure = () => services.GetRequiredService<IStoreSchema>().EnsureSchemaAsync();

        var error = (await ensure.Should().ThrowAsync<ClickHouseException>()).Which;
        error.StatusCode.Should().Be(HttpStatusCode.NotFound, "an answer came, so the schema step does not wait for the server");
        error.Message.Should().Contain("is this ClickHouse's HTTP interface?");
    }

    private static Task<FakeServer> StartNotClickHouseAsync() =>
        StartFakeServerAsync("/", _ => Results.NotFound("<html>Not here</html>"));

    /// <summary>A web server on a free loopback port that answers POST <paramref name="path"/>.</summary>
    private static async Task<FakeServer> StartFakeServerAsync(string path, Func<HttpRequest, IResult> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost(path, answer);
        await app.StartAsync();
        return new FakeServer(app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/"));
    }

    private static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record FakeServer(WebApplication App, Uri Url) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }

    public sealed class IdRow(uint n, Guid id)
    {
        [ClickHouseColumn(Name = "n", Type = "UInt32")]
        public uint N => n;

        [ClickHouseColumn(Name = "id", Type = "UUID")]
        public Guid Id => id;
    }

    public sealed class TimeRow(uint n, DateTimeOffset dt)
    {
        [ClickHouseColumn(Name = "n", Type = "UInt32")]
        public uint N => n;

        [ClickHouseColumn(Name = "dt", Type = "DateTime('UTC')")]
        public DateTimeOffset Dt => ClickHouseEventRow.ClampToDateTime(dt);
    }

    public sealed class BigRow(ulong n, string s)
    {
        [ClickHouseColumn(Name = "n", Type = "UInt64")]
        public ulong N => n;

        [ClickHouseColumn(Name = "s", Type = "String")]
        public string S => s;
    }

    public sealed class TypesRow
    {
        [ClickHouseColumn(Name = "u8", Type = "UInt8")]
        public byte U8 { get; init; }

        [ClickHouseColumn(Name = "u16", Type = "UInt16")]
        public ushort U16 { get; init; }

        [ClickHouseColumn(Name = "u32", Type = "UInt32")]
        public uint U32 { get; init; }

        [ClickHouseColumn(Name = "u64", Type = "UInt64")]
        public ulong U64 { get; init; }

        [ClickHouseColumn(Name = "s", Type = "String")]
        public string S { get; init; } = "";

        [ClickHouseColumn(Name = "payload", Type = "String")]
        public byte[] Payload { get; init; } = [];

        [ClickHouseColumn(Name = "dt", Type = "DateTime('UTC')")]
        public DateTimeOffset Dt { get; init; }

        [ClickHouseColumn(Name = "names", Type = "Array(String)")]
        public string[] Names { get; init; } = [];

        [ClickHouseColumn(Name = "flags", Type = "Array(UInt8)")]
        public byte[] Flags { get; init; } = [];

        [ClickHouseColumn(Name = "small", Type = "Array(UInt16)")]
        public ushort[] Small { get; init; } = [];

        [ClickHouseColumn(Name = "pairs.k", Type = "Array(String)")]
        public string[] PairKeys { get; init; } = [];

        [ClickHouseColumn(Name = "pairs.v", Type = "Array(UInt32)")]
        public uint[] PairValues { get; init; } = [];
    }
}
