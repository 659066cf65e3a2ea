using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>Where a ClickHouse server is and who we are to it.</summary>
internal sealed record ClickHouseConnection(Uri Url, string? User = null, string? Password = null);

/// <summary>
/// A focused client for ClickHouse's HTTP interface: commands, RowBinary inserts (gzip bodies) and
/// JSONEachRow selects. It speaks the subset that 18.16 and current servers share: every setting
/// goes in the URL (18.x has no SETTINGS clause after FORMAT and no query parameters).
/// </summary>
internal sealed class ClickHouseClient
{
    private const int MaxErrorTextLength = 16 * 1024;
    private const int FlushThreshold = 256 * 1024;

    private readonly HttpClient _http;
    private readonly ClickHouseConnection _connection;
    private readonly AuthenticationHeaderValue? _authorization;
    private string? _serverVersion;

    public ClickHouseClient(HttpClient http, ClickHouseConnection connection)
    {
        _http = http;
        _connection = connection;
        if (connection.User is not null || connection.Password is not null)
        {
            var credentials = Encoding.UTF8.GetBytes($"{connection.User ?? "default"}:{connection.Password}");
            _authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(credentials));
        }
    }

    public Uri Url => _connection.Url;

    /// <summary>
    /// The handler every ClickHouse <see cref="HttpClient"/> should use: answers may be gzipped
    /// (<c>enable_http_compression</c>), and pooled connections are renewed so DNS changes are seen.
    /// </summary>
    public static SocketsHttpHandler CreateHandler() => new()
    {
        AutomaticDecompression = DecompressionMethods.GZip,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
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

    /// <summary>Runs a statement that returns nothing (DDL, ALTER, OPTIMIZE, ...).</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        using var request = CreateRequest(sql, settings: null);
        using var response = await SendAsync(request, sql, cancellationToken);
    }

    /// <summary>Runs a SELECT and maps each row of its JSONEachRow answer (UInt64 and Int64 arrive as strings).</summary>
    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<JsonElement, T> readRow, CancellationToken cancellationToken)
    {
        var query = sql.TrimEnd().TrimEnd(';') + "\nFORMAT JSONEachRow";
        using var request = CreateRequest(query, settings: "enable_http_compression=1");
        using var response = await SendAsync(request, sql, cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var rows = new List<T>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            rows.Add(ReadRow(line, readRow, sql));
        }

        return rows;
    }

    /// <summary>
    /// Inserts rows in one request as gzip-compressed RowBinary. <paramref name="writeRow"/> writes
    /// one row's values in the order of <paramref name="columns"/>.
    /// </summary>
    public async Task InsertAsync<TRow>(
        string table,
        IReadOnlyList<string> columns,
        IReadOnlyList<TRow> rows,
        Action<RowBinaryWriter, TRow> writeRow,
        CancellationToken cancellationToken)
    {
        var statement = $"INSERT INTO {table} ({string.Join(", ", columns)}) FORMAT RowBinary";
        using var request = new HttpRequestMessage(HttpMethod.Post, BuildUri(settings: null, query: statement))
        {
            Content = new RowBinaryContent<TRow>(rows, writeRow),
        };
        request.Headers.Authorization = _authorization;
        using var response = await SendAsync(request, statement, cancellationToken);
    }

    private HttpRequestMessage CreateRequest(string sql, string? settings)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, BuildUri(settings, query: null))
        {
            Content = new StringContent(sql, Encoding.UTF8, "text/plain"),
        };
        request.Headers.Authorization = _authorization;
        return request;
    }

    private Uri BuildUri(string? settings, string? query)
    {
        var builder = new StringBuilder(_connection.Url.GetLeftPart(UriPartial.Path));
        var separator = '?';
        if (settings is not null)
        {
            builder.Append(separator).Append(settings);
            separator = '&';
        }

        if (query is not null)
        {
            builder.Append(separator).Append("query=").Append(Uri.EscapeDataString(query));
        }

        return new Uri(builder.ToString());
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string sql, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ClickHouseException(
                $"Cannot reach ClickHouse at {Url}: {ex.Message} (check ErrorHub:Store:ClickHouse:Url and that the server's HTTP interface listens there).",
                errorCode: null,
                statusCode: null,
                ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ClickHouseException(
                $"ClickHouse at {Url} did not answer within {_http.Timeout} (ErrorHub:Store:ClickHouse:RequestTimeout). Query: {Abbreviate(sql)}",
                errorCode: null,
                statusCode: null,
                ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await ReadErrorTextAsync(response, cancellationToken);
            var code = ClickHouseException.ParseErrorCode(text);
            var message = code is null
                ? $"ClickHouse at {Url} answered {(int)response.StatusCode} {response.ReasonPhrase}: {text} (is this ClickHouse's HTTP interface?)"
                : $"ClickHouse refused the query: {text} Query: {Abbreviate(sql)}";
            throw new ClickHouseException(message, code, response.StatusCode);
        }
    }

    private static T ReadRow<T>(string line, Func<JsonElement, T> readRow, string sql)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return readRow(document.RootElement);
        }
        catch (JsonException ex)
        {
            // An error that happens after the answer started streaming arrives as text in the body.
            var code = ClickHouseException.ParseErrorCode(line);
            var message = code is null
                ? $"ClickHouse answered a row that is not JSON: {Abbreviate(line)} Query: {Abbreviate(sql)}"
                : $"ClickHouse failed while answering: {Abbreviate(line)} Query: {Abbreviate(sql)}";
            throw new ClickHouseException(message, code, HttpStatusCode.OK, ex);
        }
    }

    private static async Task<string> ReadErrorTextAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new char[MaxErrorTextLength];
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var read = await reader.ReadBlockAsync(buffer, cancellationToken);
        return new string(buffer, 0, read).Trim();
    }

    private static string Abbreviate(string text) => text.Length <= 500 ? text : string.Concat(text.AsSpan(0, 500), "...");

    /// <summary>
    /// Streams rows as RowBinary through gzip into the request, flushing every few hundred KB, so a
    /// large batch never sits in memory twice.
    /// </summary>
    private sealed class RowBinaryContent<TRow> : HttpContent
    {
        private readonly IReadOnlyList<TRow> _rows;
        private readonly Action<RowBinaryWriter, TRow> _writeRow;

        public RowBinaryContent(IReadOnlyList<TRow> rows, Action<RowBinaryWriter, TRow> writeRow)
        {
            _rows = rows;
            _writeRow = writeRow;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            Headers.ContentEncoding.Add("gzip");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await using var gzip = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
            using var writer = new RowBinaryWriter(FlushThreshold + (FlushThreshold / 4));
            foreach (var row in _rows)
            {
                _writeRow(writer, row);
                if (writer.WrittenCount >= FlushThreshold)
                {
                    await gzip.WriteAsync(writer.WrittenMemory, cancellationToken);
                    writer.Clear();
                }
            }

            await gzip.WriteAsync(writer.WrittenMemory, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
