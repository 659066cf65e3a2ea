using System.Diagnostics;
using System.Reflection;
using ClickHouse.Driver;
using ClickHouse.Driver.Compression;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ClickHouseClientSettings = ClickHouse.Driver.ADO.ClickHouseClientSettings;
using DriverClient = ClickHouse.Driver.ClickHouseClient;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// The ceiling of the load test: the store's rows (every column of <see cref="ClickHouseEventRow"/>,
/// payload included) built in full before the clock starts, then inserted with the driver's binary insert
/// and nothing else: no duplicate look-ups, no HTTP front, no decoding.
/// </summary>
internal sealed class RawClickHouseInsert
{
    private static readonly (PropertyInfo Property, string Name, string Type)[] Columns = typeof(ClickHouseEventRow)
        .GetProperties()
        .Select(p => (p, p.GetCustomAttribute<ClickHouseColumnAttribute>()))
        .Where(c => c.Item2 is not null)
        .Select(c => (c.p, c.Item2!.Name!, c.Item2!.Type!))
        .ToArray();

    private readonly DriverClient _gzip;
    private readonly DriverClient _uncompressed;
    private readonly string _table;

    public RawClickHouseInsert(Uri url, string database)
    {
        _table = $"{ClickHouseSql.QuoteIdentifier(database)}.events";
        _gzip = Driver(url, compress: true);
        _uncompressed = Driver(url, compress: false);
    }

    private static DriverClient Driver(Uri url, bool compress) => new(new ClickHouseClientSettings
    {
        Host = url.Host,
        Port = (ushort)url.Port,
        JsonReadMode = JsonReadMode.None,
        JsonWriteMode = JsonWriteMode.None,
        AcceptEncoding = "gzip",
        UseCompression = compress,
    });

    /// <summary>Inserts the events as one INSERT; returns the time of the insert alone.</summary>
    public async Task<TimeSpan> InsertAsync(List<ErrorEvent> events, bool compress)
    {
        var rows = events.ConvertAll(e =>
        {
            var row = new ClickHouseEventRow(e);
            return Columns.Select(c => c.Property.GetValue(row)).ToArray();
        });
        var options = new InsertOptions
        {
            Compressor = compress ? GZipCompressor.Default : null,
            BatchSize = rows.Count,
            ColumnTypes = Columns.ToDictionary(c => c.Name, c => c.Type),
        };
        var clock = Stopwatch.StartNew();
        await (compress ? _gzip : _uncompressed).InsertBinaryAsync(_table, Columns.Select(c => c.Name).ToArray(), rows, options);
        return clock.Elapsed;
    }
}
