
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;

namespace ErrorHub.Benchmarks.ClickHouse;

/// <summary>
/// The baseline of <see cref="ClickHouseInsertComparison"/>: how the store inserted events before it
/// used ClickHouse.Driver (commit 874db13). The row writer and the streaming gzip content are the
/// deleted code unchanged; the request around them is reduced to what an insert needs.
/// </summary>
internal sealed class RowBinaryBaseline(HttpClient http, Uri url)
{
    private const int FlushThreshold = 256 * 1024;

    private static readonly string[] EventColumns =
    [
        "project_id", "timestamp", "received_at", "event_id", "fingerprint", "grouping_version",
        "level", "title", "culprit", "message", "logger", "platform", "release", "environment", "server_name",
        "exceptions.type", "exceptions.value", "exceptions.module",
        "frames.exception_index", "frames.function", "frames.type", "frames.module", "frames.file",
        "frames.line_number", "frames.column_number", "frames.in_app",
        "user_id", "user_email", "user_username", "user_ip", "user_hash",
        "http_method", "url", "tags.key", "tags.value", "payload",
    ];

    public async Task InsertAsync(string table, IReadOnlyList<ErrorEvent> events)
    {
        var statement = $"INSERT INTO {table} ({string.Join(", ", EventColumns)}) FORMAT RowBinary";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}?query={Uri.EscapeDataString(statement)}")
        {
            Content = new RowBinaryContent<ErrorEvent>(events, WriteEventRow),
        };
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"ClickHouse refused the baseline insert: {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static void WriteEventRow(RowBinaryWriter w, ErrorEvent e)
    {
        w.WriteUInt32(checked((uint)e.ProjectId));
        w.WriteDateTime(e.Timestamp);
        w.WriteDateTime(e.ReceivedAt);
        w.WriteUuid(e.EventId);
        w.WriteString(e.Fingerprint);
        w.WriteUInt16((ushort)Math.Clamp(e.GroupingVersion, 0, ushort.MaxValue));
        w.WriteString(e.Level);
        w.WriteString(e.Title);
        w.WriteString(e.Culprit);
        w.WriteString(e.Message);
        w.WriteString(e.Logger);
        w.WriteString(e.Platform);
        w.WriteString(e.Release);
        w.WriteString(e.Environment);
        w.WriteString(e.ServerName);

        w.WriteArray(e.Exceptions, static (w, x) => w.WriteString(x.Type));
        w.WriteArray(e.Exceptions, static (w, x) => w.WriteString(x.Value));
        w.WriteArray(e.Exceptions, static (w, x) => w.WriteString(x.Module));

        // The eight frame columns empty, as the store writes them today, so that both ways insert the same rows.
        for (var column = 0; column < 8; column++)
        {
            w.WriteVarUInt(0);
        }

        var user = e.User;
        w.WriteString(user?.Id);
        w.WriteString(user?.Email);
        w.WriteString(user?.Username);
        w.WriteString(user?.IpAddress);
        w.WriteUInt64(UserHash.Of(user?.Key));

        w.WriteString(e.Request?.Method);
        w.WriteString(e.Request?.Url);
        var tags = e.Tags.ToArray();
        w.WriteArray(tags, static (w, t) => w.WriteString(t.Key));
        w.WriteArray(tags, static (w, t) => w.WriteString(t.Value));

        // The payload as the store writes it today (compressed), so that both ways insert the same bytes.
        w.WriteBytes(ClickHousePayload.Encode(e));
    }

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
