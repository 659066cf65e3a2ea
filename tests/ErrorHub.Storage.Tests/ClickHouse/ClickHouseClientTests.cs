using System.Net;
using System.Net.Sockets;
using System.Text;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Storage.Tests.ClickHouse;

/// <summary>The HTTP client against a real server: encodings, quoting and errors as ClickHouse itself sees them.</summary>
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
    public async Task Uuids_written_as_row_binary_read_back_as_the_same_text()
    {
        await _client.ExecuteAsync($"CREATE TABLE {_database}.ids (n UInt32, id UUID) ENGINE = Memory", CancellationToken.None);
        var ids = new[]
        {
            Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"),
            Guid.Parse("ffffffff-0000-0000-0000-000000000001"),
            Guid.Empty,
            Guid.NewGuid(),
            Guid.NewGuid(),
        };

        await _client.InsertAsync($"{_database}.ids", ["n", "id"], ids.Select((id, n) => (n, id)).ToList(), (w, row) =>
        {
            w.WriteUInt32((uint)row.n);
            w.WriteUuid(row.id);
        }, CancellationToken.None);

        var stored = await _client.QueryAsync(
            $"SELECT toString(id) AS id FROM {_database}.ids ORDER BY n",
            row => row.GetProperty("id").GetString(),
            CancellationToken.None);
        stored.Should().Equal(ids.Select(id => id.ToString("D")));
    }

    [Fact]
    public async Task Every_row_binary_type_we_write_reads_back_as_written()
    {
        await _client.ExecuteAsync(
            $"""
            CREATE TABLE {_database}.types
            (
                u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
                i8 Int8, i16 Int16, i32 Int32, i64 Int64,
                s String, dt DateTime('UTC'), names Array(String), maybe Nullable(String),
                pairs Nested(k String, v UInt32)
            )
            ENGINE = Memory
            """,
            CancellationToken.None);
        var when = new DateTimeOffset(2025, 6, 30, 23, 59, 58, TimeSpan.Zero);
        string?[] maybes = ["present", null];

        await _client.InsertAsync(
            $"{_database}.types",
            ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "s", "dt", "names", "maybe", "pairs.k", "pairs.v"],
            maybes,
            (w, maybe) =>
            {
                w.WriteUInt8(byte.MaxValue);
                w.WriteUInt16(ushort.MaxValue);
                w.WriteUInt32(uint.MaxValue);
                w.WriteUInt64(ulong.MaxValue);
                w.WriteInt8(sbyte.MinValue);
                w.WriteInt16(short.MinValue);
                w.WriteInt32(int.MinValue);
                w.WriteInt64(long.MinValue);
                w.WriteString("Grüße\0🎉");
                w.WriteDateTime(when);
                w.WriteArray(new[] { "a", "", "ü" }, (w, s) => w.WriteString(s));
                if (w.WriteNullMarker(maybe))
                {
                    w.WriteString(maybe);
                }

                w.WriteArray(new[] { "k1", "k2" }, (w, s) => w.WriteString(s));
                w.WriteArray(new uint[] { 1, 70000 }, (w, v) => w.WriteUInt32(v));
            },
            CancellationToken.None);

        var rows = await _client.QueryAsync(
            $"""
            SELECT
                concat(toString(u8), ' ', toString(u16), ' ', toString(u32), ' ', toString(u64), ' ',
                       toString(i8), ' ', toString(i16), ' ', toString(i32), ' ', toString(i64)) AS numbers,
                hex(s) AS s_hex, toUnixTimestamp(dt) AS seconds, names, isNull(maybe) AS missing, ifNull(maybe, '') AS maybe_text,
                pairs.k AS keys, arrayMap(x -> toString(x), pairs.v) AS values
            FROM {_database}.types
            ORDER BY missing
            """,
            row => row.Clone(),
            CancellationToken.None);

        rows.Should().HaveCount(2);
        rows[0].GetProperty("numbers").GetString().Should().Be(
            "255 65535 4294967295 18446744073709551615 -128 -32768 -2147483648 -9223372036854775808");
        rows[0].GetProperty("s_hex").GetString().Should().Be(Convert.ToHexString(Encoding.UTF8.GetBytes("Grüße\0🎉")));
        ClickHouseStore.ReadInt64(rows[0].GetProperty("seconds")).Should().Be(when.ToUnixTimeSeconds());
        rows[0].GetProperty("names").EnumerateArray().Select(e => e.GetString()).Should().Equal("a", "", "ü");
        rows[0].GetProperty("maybe_text").GetString().Should().Be("present");
        rows[0].GetProperty("keys").EnumerateArray().Select(e => e.GetString()).Should().Equal("k1", "k2");
        rows[0].GetProperty("values").EnumerateArray().Select(e => e.GetString()).Should().Equal("1", "70000");
        ClickHouseStore.ReadInt64(rows[1].GetProperty("missing")).Should().Be(1, "the second row's Nullable was written as null");
    }

    [Fact]
    public async Task A_large_insert_streams_through_gzip_in_one_request()
    {
        await _client.ExecuteAsync($"CREATE TABLE {_database}.big (n UInt64, s String) ENGINE = Memory", CancellationToken.None);
        var rows = Enumerable.Range(0, 200_000).ToList();

        await _client.InsertAsync($"{_database}.big", ["n", "s"], rows, (w, n) =>
        {
            w.WriteUInt64((ulong)n);
            w.WriteString($"row {n} ünïcödé");
        }, CancellationToken.None);

        var summary = await _client.QueryAsync(
            $"SELECT count() AS c, sum(n) AS total, uniqExact(s) AS distinct_s FROM {_database}.big",
            row => (ClickHouseStore.ReadInt64(row.GetProperty("c")), ClickHouseStore.ReadInt64(row.GetProperty("total")), ClickHouseStore.ReadInt64(row.GetProperty("distinct_s"))),
            CancellationToken.None);
        summary.Should().Equal((200_000L, 199_999L * 200_000L / 2, 200_000L));
    }

    [Fact]
    public async Task A_refused_query_throws_the_servers_code_and_message()
    {
        var syntax = () => _client.ExecuteAsync("SELEC 1", CancellationToken.None);
        var missingTable = () => _client.QueryAsync($"SELECT * FROM {_database}.no_such_table", row => 0, CancellationToken.None);
        var missingInsertTarget = () => _client.InsertAsync($"{_database}.no_such_table", ["x"], [1], (w, x) => w.WriteInt32(x), CancellationToken.None);

        var syntaxError = (await syntax.Should().ThrowAsync<ClickHouseException>()).Which;
        syntaxError.ErrorCode.Should().Be(62);
        syntaxError.StatusCode.Should().NotBeNull();
        syntaxError.Message.Should().Contain("Code: 62").And.Contain("Syntax error").And.Contain("SELEC 1");

        (await missingTable.Should().ThrowAsync<ClickHouseException>()).Which.Should().Match<ClickHouseException>(
            e => e.ErrorCode == 60 && e.Message.Contains("no_such_table"));
        (await missingInsertTarget.Should().ThrowAsync<ClickHouseException>()).Which.ErrorCode.Should().Be(60);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_by_the_server()
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(_server.Url, "default", "definitely-not-the-password"));

        var query = () => client.GetServerVersionAsync(CancellationToken.None);

        (await query.Should().ThrowAsync<ClickHouseException>()).Which.Message.Should().ContainEquivalentOf("password");
    }

    [Fact]
    public async Task A_url_where_nothing_listens_gives_a_clear_error()
    {
        var port = UnusedPort();
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(new Uri($"http://127.0.0.1:{port}/")));

        var query = () => client.ExecuteAsync("SELECT 1", CancellationToken.None);

        var error = (await query.Should().ThrowAsync<ClickHouseException>()).Which;
        error.Message.Should().StartWith($"Cannot reach ClickHouse at http://127.0.0.1:{port}/").And.Contain("ErrorHub:Store:ClickHouse:Url");
        error.StatusCode.Should().BeNull();
        error.InnerException.Should().BeOfType<HttpRequestException>();
    }

    [Fact]
    public async Task A_url_of_some_other_web_server_gives_a_clear_error()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapPost("/", () => Results.NotFound("<html>Not here</html>"));
        await app.StartAsync();
        var url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(url));

        var query = () => client.ExecuteAsync("SELECT 1", CancellationToken.None);

        var error = (await query.Should().ThrowAsync<ClickHouseException>()).Which;
        error.StatusCode.Should().Be(HttpStatusCode.NotFound);
        error.ErrorCode.Should().BeNull();
        error.Message.Should().Contain("404").And.Contain("Not here").And.Contain("is this ClickHouse's HTTP interface?");
    }

    private static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
