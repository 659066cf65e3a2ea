using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ClickHouse.Driver;
using ClickHouse.Driver.Compression;
using ClickHouseClientSettings = ClickHouse.Driver.ADO.ClickHouseClientSettings;
using DriverClient = ClickHouse.Driver.ClickHouseClient;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Where a ClickHouse server is and who we are to it; on a cluster, the cluster's name (as in the
/// servers' <c>remote_servers</c>) and how many replicas must have an insert before it counts (0: the one written to);
/// whether requests are gzip-compressed (null: unless the server is on loopback).
/// </summary>
internal sealed record ClickHouseConnection(Uri Url, string? User = null, string? Password = null, string? Cluster = null, int InsertQuorum = 0, bool? Compress = null)
{
    /// <summary>
    /// Compressing an insert of large rows costs the client about as much CPU as encoding them and the server
    /// as much again to inflate them; that buys nothing over loopback, where both run on the same cores.
    /// </summary>
    public bool CompressRequests => Compress ?? !IsLoopback(Url);

    private static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}

/// <summary>
/// ErrorHub's door to ClickHouse: commands, selects answered as JSONEachRow, and RowBinary inserts.
/// The official driver carries the requests and encodes the inserts; what stays here is what it
/// cannot do on 18.16 (typed reads and query parameters need formats and settings 18.x lacks, so
/// selects are raw JSONEachRow read here, values are literals from <see cref="ClickHouseSql"/>)
/// and errors that say which URL and setting to check. docs/storage.md has the details.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "Given an HttpClient, the driver owns nothing that needs disposing; the HttpClient belongs to the caller.")]
internal sealed class ClickHouseClient
{
    private readonly DriverClient _driver;
    private readonly HttpClient _http;
    private readonly ClickHouseConnection _connection;
    private readonly TimeSpan _timeout;
    private readonly ClickHouseClusterDdl? _cluster;
    private readonly Dictionary<string, object> _insertSettings = [];
    private string? _serverVersion;
    private bool _hasZooKeeperSession;
    private bool _hadNoZooKeeperSession;
    private bool? _hasOneShard;

    // REPLICA_IS_ALREADY_EXIST: ZooKeeper has a replica of this name for the table being created.
    private const int ReplicaAlreadyExists = 253;

    /// <param name="http">Built on <see cref="CreateHandler"/>: its <see cref="ClickHouseAnswerHandler"/> turns refusals into <see cref="ClickHouseException"/>.</param>
    public ClickHouseClient(HttpClient http, ClickHouseConnection connection)
    {
        _connection = connection;
        _http = http;
        _timeout = http.Timeout;
        if (connection.Cluster is { Length: > 0 } cluster)
        {
            _cluster = new ClickHouseClusterDdl(cluster);
            // Replicated tables drop a block equal to one of the last inserted ones. Two batches can be
            // equal and both wanted (drop counts, the views' aggregates of events alike but for their ids),
            // and a retried batch is already harmless (docs/storage.md): store what a single server stores.
            _insertSettings["insert_deduplicate"] = 0;
            // Through a Distributed table an insert is acknowledged only once every shard it touches has it, not
            // when it sits in this node's queue for later sending: a node lost after the answer loses nothing.
            _insertSettings["insert_distributed_sync"] = 1;
        }

        if (connection.InsertQuorum > 1)
        {
            _insertSettings["insert_quorum"] = connection.InsertQuorum;
        }

        var url = connection.Url;
        _driver = new DriverClient(new ClickHouseClientSettings
        {
            Protocol = url.Scheme,
            Host = url.Host,
            Port = (ushort)url.Port,
            Path = url.AbsolutePath,
            Username = connection.User ?? "default",
            Password = connection.Password ?? "",
            // 18.x knows neither JSON setting and refuses every request that names one.
            JsonReadMode = JsonReadMode.None,
            JsonWriteMode = JsonWriteMode.None,
            // gzip, not the driver's first choice zstd: 18.x knows no other, and the handler's
            // decompression below ClickHouseAnswerHandler must be able to read error answers.
            AcceptEncoding = "gzip",
            UseCompression = connection.CompressRequests,
            HttpClient = http,
        });
    }

    public Uri Url => _connection.Url;

    /// <summary>Whether request bodies are gzip'd (<see cref="ClickHouseConnection.CompressRequests"/>).</summary>
    public bool CompressRequests => _connection.CompressRequests;

    /// <summary>The cluster this client's DDL runs on, or null for a single server.</summary>
    public string? Cluster => _cluster?.Cluster;

    /// <summary>
    /// The handler every ClickHouse <see cref="HttpClient"/> must use: refusals become
    /// <see cref="ClickHouseException"/> with the HTTP status (the driver's own exception drops it),
    /// answers may be gzipped, and pooled connections are renewed so DNS changes are seen. ClickHouse never redirects: a
    /// redirect (a proxy's, something else at the URL) is a refusal like any answer that is not 2xx, not followed. Followed, the
    /// statement went to whatever address it named, and that address's answer (an empty 200) was read as an empty result.
    /// </summary>
    public static HttpMessageHandler CreateHandler() => new ClickHouseAnswerHandler
    {
        InnerHandler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.GZip,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        },
    };

    /// <summary>The server's version string (<c>SELECT version()</c>), asked once and remembered.</summary>
    public async Task<string> GetServerVersionAsync(CancellationToken cancellationToken)
    {
        if (_serverVersion is { } known)
        {
            return known;
        }

        var rows = await QueryAsync("SELECT version() AS version", row => row.GetProperty("version").GetString() ?? "", cancellationToken);
        _serverVersion = rows.Count == 1 ? rows[0] : throw new ClickHouseException("ClickHouse answered SELECT version() without a row.");
        return _serverVersion;
    }

    /// <summary>
    /// Runs a statement that returns no rows (DDL, ALTER, OPTIMIZE, ...). On a cluster, DDL runs in its
    /// cluster form (<see cref="ClickHouseClusterDdl"/>); a CREATE of what this node already has is not
    /// sent, so a process starts while another node is down (an ON CLUSTER statement waits for every node).
    /// </summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        if (_cluster is null)
        {
            await SendAsync(sql, () => _driver.ExecuteNonQueryAsync(sql, cancellationToken: cancellationToken), cancellationToken);
            return;
        }

        var database = ClickHouseClusterDdl.DatabaseOf(sql);
        var statements = database is null
            ? _cluster.Convert(sql)
            : _cluster.Convert(sql, await DistributedTablesAsync(database, cancellationToken), await HasOneShardAsync(cancellationToken));
        if (statements.Count == 1 && ReferenceEquals(statements[0].Sql, sql) && !statements[0].WaitForAllReplicas)
        {
            await SendAsync(sql, () => _driver.ExecuteNonQueryAsync(sql, cancellationToken: cancellationToken), cancellationToken);
            return;
        }

        // A column added to the local tables of a Distributed table, which is then made again: the local tables may have
        // it already (an earlier, interrupted upgrade), so every part gets its statement and the first refusal is
        // reported after all have run.
        ClickHouseException? firstRefusal = null;
        foreach (var statement in statements)
        {
            if (statement.IsCreate && await ExistsHereAsync(statement, cancellationToken))
            {
                continue;
            }

            if (statement.DropsExisting && !await ExistsHereAsync(statement, cancellationToken))
            {
                continue;
            }

            await EnsureZooKeeperSessionAsync(cancellationToken);
            try
            {
                // ON CLUSTER answers a table of hosts and their outcome, in the default format unless told otherwise.
                var options = statement.WaitForAllReplicas ? AllReplicasOptions : InsertSelectOptions;
                await SendAsync(statement.Sql, () => _driver.ExecuteNonQueryAsync(statement.Sql, options: options, cancellationToken: cancellationToken), cancellationToken);
            }
            catch (ClickHouseException ex) when (ex.ErrorCode == ReplicaAlreadyExists && _cluster.AttachExistingReplica(statement) is { } attach)
            {
                // This node lost the table (its disk wiped or replaced) while ZooKeeper kept its replica: take it up again.
                // (Unless the refusal came from another node and this one made its table: that node needs its own process.)
                if (await ExistsHereAsync(statement, cancellationToken))
                {
                    throw;
                }

                await SendAsync(attach, () => _driver.ExecuteNonQueryAsync(attach, options: InsertSelectOptions, cancellationToken: cancellationToken), cancellationToken);
            }
            catch (ClickHouseException ex) when (ex.ErrorCode is not null && statements.Count > 1)
            {
                firstRefusal ??= ex;
            }
        }

        if (firstRefusal is not null)
        {
            throw firstRefusal;
        }
    }

    /// <summary>
    /// Whether the cluster is a single shard (asked once): then replication alone takes an ALTER of a local table to every
    /// node, and it need not go through the DDL queue, where 18.x can lose a node's DDL worker (ClickHouseClusterDdl).
    /// </summary>
    private async Task<bool> HasOneShardAsync(CancellationToken cancellationToken)
    {
        if (_hasOneShard is { } known)
        {
            return known;
        }

        var shards = await QueryAsync(
            $"SELECT uniqExact(shard_num) AS n FROM system.clusters WHERE cluster = {ClickHouseSql.Quote(_cluster!.Cluster)}",
            row => ReadInt64(row.GetProperty("n")),
            cancellationToken);
        _hasOneShard = shards.Count == 1 && shards[0] == 1;
        return _hasOneShard.Value;
    }

    private async Task<IReadOnlyDictionary<string, string>> DistributedTablesAsync(string database, CancellationToken cancellationToken) =>
        (await QueryAsync(
            $"SELECT name, engine_full FROM system.tables WHERE database = {ClickHouseSql.Quote(database)} AND engine = 'Distributed'",
            row => (Name: row.GetProperty("name").GetString() ?? "", Engine: row.GetProperty("engine_full").GetString() ?? ""),
            cancellationToken)).ToDictionary(table => table.Name, table => table.Engine, StringComparer.Ordinal);

    // UNKNOWN_TABLE: on a cluster node, system.zookeeper is missing when the node has no <zookeeper> configuration.
    private const int UnknownTable = 60;

    private static readonly TimeSpan DdlWorkerSessionDelay = TimeSpan.FromSeconds(3);

    /// <summary>
    /// ON CLUSTER goes through the node's ZooKeeper session. ClickHouse 18.x dereferences its DDL worker's session
    /// without checking it, so an ON CLUSTER statement sent to a node that has not connected to ZooKeeper kills the
    /// node (SIGSEGV); asking ZooKeeper through the node first turns that into a refusal that names the cause.
    /// </summary>
    private async Task EnsureZooKeeperSessionAsync(CancellationToken cancellationToken)
    {
        if (_hasZooKeeperSession)
        {
            return;
        }

        try
        {
            await QueryAsync("SELECT count() AS n FROM system.zookeeper WHERE path = '/'", _ => 0, cancellationToken);
        }
        catch (ClickHouseException ex) when (ex.ErrorCode == UnknownTable)
        {
            // Without a <zookeeper> section the server has no system.zookeeper table (18.16: "Table system.zookeeper doesn't
            // exist", code 60), and no replicated table can be made on it: no wait would mend that, the node's configuration must.
            throw new ClickHouseException(
                $"ClickHouse at {Url} has no <zookeeper> section in its configuration, which the replicated tables and ON CLUSTER statements of " +
                $"cluster mode (ErrorHub:Store:ClickHouse:Cluster) need: add one naming the ZooKeeper hosts to every node's configuration and restart " +
                $"the node, or unset ErrorHub:Store:ClickHouse:Cluster for a single server. {ex.Message}",
                ex.ErrorCode,
                ex.StatusCode,
                ex)
            {
                NoZooKeeperConfigured = true,
            };
        }
        catch (ClickHouseException ex) when (ex.ErrorCode is not null)
        {
            _hadNoZooKeeperSession = true;
            throw new ClickHouseException(
                $"ClickHouse at {Url} has no ZooKeeper session, which the ON CLUSTER statements of cluster mode (ErrorHub:Store:ClickHouse:Cluster) need: " +
                $"check the node's <zookeeper> configuration and that ZooKeeper answers. {ex.Message}",
                ex.ErrorCode,
                ex.StatusCode,
                ex)
            {
                NoZooKeeperSession = true,
            };
        }
        catch (ClickHouseException) when (!cancellationToken.IsCancellationRequested)
        {
            _hadNoZooKeeperSession = true; // not reached either: the node may still be starting without its session
            throw;
        }

        if (_hadNoZooKeeperSession)
        {
            // The node answers for ZooKeeper again, but its DDL worker takes its own session in a thread of its own, about a
            // second later: an ON CLUSTER statement before that kills the node (above). Tried again in the background after
            // ZooKeeper was down, the schema would be the first statement to come.
            await Task.Delay(DdlWorkerSessionDelay, cancellationToken);
        }

        _hasZooKeeperSession = true;
    }

    private async Task<bool> ExistsHereAsync(ClickHouseClusterDdl.ClusterStatement statement, CancellationToken cancellationToken)
    {
        var sql = statement.Creates == ClickHouseClusterDdl.ObjectKind.Database
            ? $"SELECT count() AS n FROM system.databases WHERE name = {ClickHouseSql.Quote(statement.Database!)}"
            : $"SELECT count() AS n FROM system.tables WHERE database = {ClickHouseSql.Quote(statement.Database!)} AND name = {ClickHouseSql.Quote(statement.Table!)}";
        var counts = await QueryAsync(sql, row => ReadInt64(row.GetProperty("n")), cancellationToken);
        return counts.Count == 1 && counts[0] > 0;
    }

    /// <summary>
    /// Runs an INSERT ... SELECT on the server. The driver names RowBinaryWithNamesAndTypes as the
    /// default answer format, which 18.x lacks and which a statement with a SELECT in it refuses
    /// even when it answers nothing; this one names a format every version knows.
    /// </summary>
    public Task InsertSelectAsync(string sql, CancellationToken cancellationToken) =>
        SendAsync(sql, () => _driver.ExecuteNonQueryAsync(sql, options: _insertSettings.Count == 0 ? InsertSelectOptions : new QueryOptions
        {
            CustomSettings = new Dictionary<string, object>(_insertSettings) { ["default_format"] = "TabSeparated" },
        }, cancellationToken: cancellationToken), cancellationToken);

    private static readonly QueryOptions InsertSelectOptions = new()
    {
        CustomSettings = new Dictionary<string, object> { ["default_format"] = "TabSeparated" },
    };

    // 2: an ALTER answers once every replica has applied it. Current servers know the setting as alter_sync too; 18.x waits so for column changes anyway.
    private static readonly QueryOptions AllReplicasOptions = new()
    {
        CustomSettings = new Dictionary<string, object> { ["default_format"] = "TabSeparated", ["replication_alter_partitions_sync"] = 2 },
    };

    /// <summary>Runs a SELECT and maps each row of its JSONEachRow answer (UInt64 and Int64 arrive as strings).</summary>
    public Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<JsonElement, T> readRow, CancellationToken cancellationToken) =>
        QueryAsync(sql, readRow, LongQueryFor(sql), cancellationToken);

    /// <summary>
    /// A SELECT whose text may be up to <paramref name="maxQueryBytes"/> long, such as a list of thousands of keys (18.x parses
    /// at most 256 KiB and 50,000 syntax nodes by default; the settings must come with the request, as a query's own SETTINGS
    /// clause is read only after parsing).
    /// </summary>
    public Task<IReadOnlyList<T>> QueryLongAsync<T>(string sql, int maxQueryBytes, Func<JsonElement, T> readRow, CancellationToken cancellationToken) =>
        QueryAsync(sql, readRow, LongQuery(maxQueryBytes), cancellationToken);

    // 18.x's default max_query_size; from LongQueryBytes on, a query is sent with limits of its own (a list of literals is
    // also a syntax tree of a node or more each, 50,000 by default).
    private const int DefaultMaxQueryBytes = 256 * 1024;
    private const int LongQueryBytes = 64 * 1024;

    /// <summary>
    /// The limits a query of a few thousand literals needs (a list of issues that triage names, say), or null for a short one:
    /// twice its length, so that no number of names is refused; the defaults hold for every other query.
    /// </summary>
    private static QueryOptions? LongQueryFor(string sql)
    {
        if (sql.Length < LongQueryBytes / 3)
        {
            return null;
        }

        var bytes = Encoding.UTF8.GetByteCount(sql);
        return bytes < LongQueryBytes ? null : LongQuery((int)Math.Min(int.MaxValue, Math.Max(DefaultMaxQueryBytes, 2L * bytes)));
    }

    private static QueryOptions LongQuery(int maxQueryBytes) =>
        new()
        {
            CustomSettings = new Dictionary<string, object>
            {
                ["max_query_size"] = maxQueryBytes,
                // A long list of literals is a large syntax tree: 18.x refuses more than 50,000 nodes by default.
                ["max_ast_elements"] = maxQueryBytes / 4,
                ["max_expanded_ast_elements"] = maxQueryBytes / 4,
            },
        };

    private Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<JsonElement, T> readRow, QueryOptions? options, CancellationToken cancellationToken) =>
        SendAsync(sql, async () =>
        {
            using var result = await _driver.ExecuteRawResultAsync(WithJsonEachRow(sql), options: options, cancellationToken: cancellationToken);
            await using var stream = await result.ReadDecompressedStreamAsync();
            return await ReadJsonEachRowAsync(stream, sql, readRow, cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// A SELECT that reads <paramref name="keys"/> as a table of that name (ClickHouse's external data, sent with the request):
    /// thousands of keys without a query text of thousands of literals, which 18.x parses and evaluates one by one. On a
    /// cluster, the server sends the table on to the shards that a Distributed table's query reaches.
    /// </summary>
    public Task<IReadOnlyList<T>> QueryWithKeysAsync<T>(string sql, ClickHouseKeyTable keys, Func<JsonElement, T> readRow, CancellationToken cancellationToken) =>
        SendAsync(sql, async () =>
        {
            // The query goes in the URL (a multipart body holds only the tables); the keys are not compressed: 18.x reads a
            // multipart body as sent, and the keys of an insert are a few hundred KB.
            var url = new UriBuilder(Url)
            {
                Query = $"query={Uri.EscapeDataString(WithJsonEachRow(sql))}" +
                    $"&{keys.Name}_structure={Uri.EscapeDataString(keys.Structure)}&{keys.Name}_format=TabSeparated",
            }.Uri;
            using var body = new MultipartFormDataContent { { new ReadOnlyMemoryContent(keys.Bytes), keys.Name, keys.Name + ".tsv" } };
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = body };
            request.Headers.Authorization = BasicAuthorization();
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await ReadJsonEachRowAsync(stream, sql, readRow, cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// Runs a SELECT and hands out each row of its JSONEachRow answer as it arrives: one row in memory whatever the answer's
    /// size. The wait for the answer to start is bounded as for every query (RequestTimeout, and PageTimeout where the caller
    /// set it); the rows then come as fast as the caller takes them. Stopping early or cancelling closes the connection, and
    /// ClickHouse ends a query whose client is gone at its next write.
    /// </summary>
    public async IAsyncEnumerable<T> QueryRowsAsStreamedAsync<T>(
        string sql, Func<JsonElement, T> readRow, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var response = await SendAsync(sql, async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Url) { Content = new StringContent(WithJsonEachRow(sql), Encoding.UTF8) };
            request.Headers.Authorization = BasicAuthorization();
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        var lines = new ClickHouseAnswerLines(reader, MaxStreamedRowChars, eachLine: true, () => AnswerTooLong(sql, MaxStreamedRowChars, "a row of a streamed query"));
        while (true)
        {
            // The reader answers buffered lines without looking at the token.
            cancellationToken.ThrowIfCancellationRequested();
            string? line;
            try
            {
                line = await lines.ReadLineAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                throw new ClickHouseException(
                    $"The connection to ClickHouse at {Url} broke while it was answering: {ex.Message} Query: {ClickHouseException.Abbreviate(sql)}",
                    errorCode: null,
                    statusCode: null,
                    ex);
            }

            if (line is null)
            {
                yield break;
            }

            if (line.Length == 0)
            {
                continue;
            }

            T row;
            try
            {
                using var document = JsonDocument.Parse(line);
                row = ReadRow(readRow, document.RootElement, sql);
            }
            catch (JsonException ex)
            {
                throw FailedWhileAnswering(line, await lines.ReadRestAsync(ClickHouseAnswerHandler.MaxErrorTextLength, cancellationToken), sql, ex);
            }

            yield return row;
        }
    }

    private static string WithJsonEachRow(string sql) => sql.TrimEnd().TrimEnd(';') + "\nFORMAT JSONEachRow";

    /// <summary>
    /// What a read that is not a page nor streamed may answer: its rows are held until the answer ends, and such reads are of
    /// a few rows (an issue, an event, counts) or of a project's whole triage state (its issues' states and merges: about
    /// 250 characters an issue). This bound is far above either and keeps the answer's text, and the rows made of it, to
    /// a few hundred MB: a server (or something in its place) answering rows without end filled the process's memory for
    /// as long as RequestTimeout let it.
    /// </summary>
    internal const int MaxRowsAnswerChars = 64 * 1024 * 1024;

    /// <summary>What one row of a streamed read may be (its rows are handed on one by one, each a few hundred characters).</summary>
    internal const int MaxStreamedRowChars = 16 * 1024 * 1024;

    private async Task<IReadOnlyList<T>> ReadJsonEachRowAsync<T>(Stream stream, string sql, Func<JsonElement, T> readRow, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lines = new ClickHouseAnswerLines(reader, MaxRowsAnswerChars, eachLine: false, () => AnswerTooLong(sql, MaxRowsAnswerChars, "a query"));
        var rows = new List<T>();
        while (await lines.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException ex)
            {
                throw FailedWhileAnswering(line, await lines.ReadRestAsync(ClickHouseAnswerHandler.MaxErrorTextLength, cancellationToken), sql, ex);
            }

            using (document)
            {
                rows.Add(ReadRow(readRow, document.RootElement, sql));
            }
        }

        return rows;
    }

    private ClickHouseException AnswerTooLong(string sql, int maxChars, string what) => new(
        $"ClickHouse at {Url} answered more than {maxChars / (1024 * 1024)} M characters to {what}; the rest was not read. Query: {ClickHouseException.Abbreviate(sql)}",
        errorCode: null,
        statusCode: HttpStatusCode.OK);

    /// <summary>
    /// Runs a SELECT that ends in <c>LIMIT</c> and maps each row, with the number of rows the query had before its
    /// <c>LIMIT</c> (the JSON format's <c>rows_before_limit_at_least</c>; for a <c>GROUP BY</c>, every group is counted
    /// before the sort and limit): a page and its total from one pass over the data. Null when the server does not say.
    /// </summary>
    public Task<(IReadOnlyList<T> Rows, long? RowsBeforeLimit)> QueryPageAsync<T>(string sql, Func<JsonElement, T> readRow, CancellationToken cancellationToken) =>
        SendAsync<(IReadOnlyList<T>, long?)>(sql, async () =>
        {
            var query = sql.TrimEnd().TrimEnd(';') + "\nFORMAT JSON";
            using var result = await _driver.ExecuteRawResultAsync(query, options: LongQueryFor(query), cancellationToken: cancellationToken);
            await using var stream = await result.ReadDecompressedStreamAsync();
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = await ReadPageAnswerAsync(reader, sql, cancellationToken);
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException ex)
            {
                // An error in the middle of the answer (after the 200 went out) ends the text.
                var rest = new char[ClickHouseAnswerHandler.MaxErrorTextLength];
                var restRead = await reader.ReadBlockAsync(rest, cancellationToken);
                throw FailedWhileAnswering(text[Math.Max(0, text.Length - ClickHouseAnswerHandler.MaxErrorTextLength)..], new string(rest, 0, restRead), sql, ex);
            }

            using (document)
            {
                return ReadPage(document.RootElement, readRow, sql);
            }
        }, cancellationToken);

    /// <summary>
    /// A page's answer is a page of rows (their LIMIT is a few hundred at most) and its header: a few hundred KB. This bound
    /// is far above that and far below what threatens the dashboard's memory, which held the whole answer as text and then as
    /// a JSON document: a server (or something in its place) answering millions of rows to a page's query filled it for as
    /// long as the page's timeout let it, gigabytes over a fast link.
    /// </summary>
    internal const int MaxPageAnswerChars = 16 * 1024 * 1024;

    private async Task<string> ReadPageAnswerAsync(StreamReader reader, string sql, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var buffer = new char[64 * 1024];
        int read;
        while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (text.Length + read > MaxPageAnswerChars)
            {
                // The rest is left unread: the connection is closed, and ClickHouse ends a query whose client is gone.
                throw AnswerTooLong(sql, MaxPageAnswerChars, "a page's query, which asks for one page of rows");
            }

            text.Append(buffer, 0, read);
        }

        return text.ToString();
    }

    /// <summary>
    /// Inserts rows in one gzip-compressed RowBinary request. Columns and their types come from the
    /// <see cref="ClickHouseColumnAttribute"/>s on <typeparamref name="TRow"/>'s public properties
    /// (the driver's own look-up of the types needs a format 18.x lacks); a row's properties are
    /// read when the driver encodes that row.
    /// </summary>
    public Task InsertAsync<TRow>(string table, IReadOnlyCollection<TRow> rows, CancellationToken cancellationToken)
        where TRow : class
    {
        _driver.RegisterBinaryInsertType<TRow>();
        var options = new InsertOptions
        {
            // zstd, the driver's default, is unknown to 18.x; none at all to a server on loopback.
            Compressor = _connection.CompressRequests ? GZipCompressor.Default : null,
            // One batch, one INSERT: the driver would split a larger one into several.
            BatchSize = Math.Max(rows.Count, 1),
            CustomSettings = new Dictionary<string, object>(_insertSettings),
        };
        return SendAsync($"INSERT INTO {table}", () => _driver.InsertBinaryAsync(table, rows, options, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Inserts rows that the caller encoded as RowBinary (<paramref name="columns"/> in their order), sent as
    /// <paramref name="rows"/> writes them: the statement and the insert settings go in the URL, the body is only the rows.
    /// </summary>
    public Task InsertRowBinaryAsync(string table, string columns, HttpContent rows, CancellationToken cancellationToken)
    {
        var sql = $"INSERT INTO {table} ({columns}) FORMAT RowBinary";
        return SendAsync(sql, async () =>
        {
            var query = new StringBuilder("query=").Append(Uri.EscapeDataString(sql));
            foreach (var (name, value) in _insertSettings)
            {
                query.Append('&').Append(name).Append('=').Append(Uri.EscapeDataString(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? ""));
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, new UriBuilder(Url) { Query = query.ToString() }.Uri) { Content = rows };
            request.Headers.Authorization = BasicAuthorization();
            // Read whole, so that one cut off is a failure; ClickHouseAnswerHandler bounds it (MaxInsertAnswerBytes).
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>What an insert's answer may be: ClickHouse answers one with nothing, or a line of its summary.</summary>
    internal const int MaxInsertAnswerBytes = 1024 * 1024;

    private AuthenticationHeaderValue BasicAuthorization() => new(
        "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_connection.User ?? "default"}:{_connection.Password ?? ""}")));

    /// <summary>Gives failures of the transport a message that names the URL and the setting to check.</summary>
    private async Task<T> SendAsync<T>(string sql, Func<Task<T>> send, CancellationToken cancellationToken)
    {
        // Flows into the handler's call and ends with this method.
        ClickHouseAnswerHandler.Statement.Value = sql;
        ClickHouseAnswerHandler.RequestTimeout.Value = _timeout;
        try
        {
            return await send();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // IOException: a connection that broke while the driver was writing an insert's rows.
            throw new ClickHouseException(
                $"Cannot reach ClickHouse at {Url}: {ex.Message} (check ErrorHub:Store:ClickHouse:Url and that the server's HTTP interface listens there).",
                errorCode: null,
                statusCode: null,
                ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ClickHouseException(
                $"ClickHouse at {Url} did not answer within {_timeout} (ErrorHub:Store:ClickHouse:RequestTimeout). Query: {ClickHouseException.Abbreviate(sql)}",
                errorCode: null,
                statusCode: null,
                ex);
        }
    }

    /// <summary>
    /// An error that happens after the answer started streaming arrives as text in the body: the
    /// <c>Code: N</c> line itself on 18.x, framed by <c>__exception__</c> lines on current servers.
    /// </summary>
    private static ClickHouseException FailedWhileAnswering(string firstLine, string rest, string sql, JsonException cause)
    {
        var text = (firstLine + "\n" + rest).Trim();
        var code = ClickHouseException.ParseErrorCode(text);
        var message = code is null
            ? $"ClickHouse answered a row that is not JSON: {ClickHouseException.Abbreviate(text)} Query: {ClickHouseException.Abbreviate(sql)}"
            : $"ClickHouse failed while answering: {ClickHouseException.Abbreviate(text)} Query: {ClickHouseException.Abbreviate(sql)}";
        return new ClickHouseException(message, code, HttpStatusCode.OK, cause);
    }

    private static (IReadOnlyList<T> Rows, long? RowsBeforeLimit) ReadPage<T>(JsonElement answer, Func<JsonElement, T> readRow, string sql)
    {
        try
        {
            var rows = new List<T>();
            foreach (var row in answer.GetProperty("data").EnumerateArray())
            {
                rows.Add(readRow(row));
            }

            long? before = answer.TryGetProperty("rows_before_limit_at_least", out var count) ? ReadInt64(count) : null;
            return (rows, before);
        }
        catch (Exception ex) when (IsNotTheQuerysShape(ex))
        {
            throw NotTheQuerysRows(answer, sql, ex);
        }
    }

    private static T ReadRow<T>(Func<JsonElement, T> readRow, JsonElement row, string sql)
    {
        try
        {
            return readRow(row);
        }
        catch (Exception ex) when (IsNotTheQuerysShape(ex))
        {
            throw NotTheQuerysRows(row, sql, ex);
        }
    }

    /// <summary>
    /// What reading a row throws when the answer is JSON but not the query's rows (a lone number, an object without the
    /// columns, a column of another type): something in ClickHouse's place answered, or the server broke mid-way. It is the
    /// store's failure, as a row that is not JSON is: an open page says the store is not answering and its refresh goes on,
    /// where an exception of its own ended the refresh for good.
    /// </summary>
    private static bool IsNotTheQuerysShape(Exception exception) =>
        exception is InvalidOperationException or KeyNotFoundException or FormatException or OverflowException or ArgumentException or IndexOutOfRangeException;

    private static ClickHouseException NotTheQuerysRows(JsonElement answer, string sql, Exception cause) =>
        new(
            $"ClickHouse answered JSON that is not the query's rows ({cause.Message}): {ClickHouseException.Abbreviate(answer.GetRawText())} Query: {ClickHouseException.Abbreviate(sql)}",
            errorCode: null,
            HttpStatusCode.OK,
            cause);

    /// <summary>ClickHouse quotes 64-bit integers in JSON (they exceed JavaScript's precision); smaller ones come as numbers.</summary>
    internal static long ReadInt64(JsonElement value) => value.ValueKind == JsonValueKind.String
        ? long.Parse(value.GetString() ?? "", System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture)
        : value.GetInt64();
}
