using System.Diagnostics;
using System.Reflection;
using ClickHouse.Driver;
using ClickHouse.Driver.Compression;
using ErrorHub.Storage;
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
    public Task<TimeSpan> InsertAsync(List<ErrorEvent> events, bool compress) => InsertAsync(events, compress, _table, RowVariant.Store);

    /// <summary>
    /// Inserts the events' rows as <paramref name="variant"/> changes them into <paramref name="table"/> (a table with
    /// the columns of <c>events</c>): what other rows would cost ClickHouse, measured without changing the store.
    /// </summary>
    public async Task<TimeSpan> InsertAsync(List<ErrorEvent> events, bool compress, string table, RowVariant variant)
    {
        var rows = events.ConvertAll(e =>
        {
            var row = new ClickHouseEventRow(e);
            var values = Columns.Select(c => c.Property.GetValue(row)).ToArray();
            Change(values, e, variant);
            return values;
        });
        var options = new InsertOptions
        {
            Compressor = compress ? GZipCompressor.Default : null,
            BatchSize = rows.Count,
            ColumnTypes = Columns.ToDictionary(c => c.Name, c => c.Type),
        };
        var clock = Stopwatch.StartNew();
        await (compress ? _gzip : _uncompressed).InsertBinaryAsync(table, Columns.Select(c => c.Name).ToArray(), rows, options);
        return clock.Elapsed;
    }

    private static readonly int PayloadColumn = Array.FindIndex(Columns, c => c.Name == "payload");
    private static readonly int[] FrameColumns = Columns.Select((c, i) => (c, i)).Where(x => x.c.Name.StartsWith("frames.", StringComparison.Ordinal)).Select(x => x.i).ToArray();
    private static readonly int FunctionColumn = Array.FindIndex(Columns, c => c.Name == "frames.function");
    private static readonly int TypeColumn = Array.FindIndex(Columns, c => c.Name == "frames.type");
    private static readonly int ModuleColumn = Array.FindIndex(Columns, c => c.Name == "frames.module");

    private static void Change(object?[] values, ErrorEvent e, RowVariant variant)
    {
        switch (variant)
        {
            case RowVariant.PlainJsonPayload:
                values[PayloadColumn] = EventPayloadJson.SerializeToUtf8Bytes(e);
                break;
            case RowVariant.InAppFramesAndThrowSites:
                // .NET order: each exception's first frame is where it was thrown.
                var keep = e.Exceptions.SelectMany(x => x.Frames.Select((f, i) => f.InApp || i == 0)).ToArray();
                foreach (var column in FrameColumns)
                {
                    var all = (Array)values[column]!;
                    var kept = Array.CreateInstance(all.GetType().GetElementType()!, keep.Count(k => k));
                    for (int from = 0, to = 0; from < keep.Length; from++)
                    {
                        if (keep[from])
                        {
                            kept.SetValue(all.GetValue(from), to++);
                        }
                    }

                    values[column] = kept;
                }

                break;
            case RowVariant.WithoutFrameTypeAndModule:
                values[TypeColumn] = new string[((string[])values[TypeColumn]!).Length];
                Array.Fill((string[])values[TypeColumn]!, "");
                values[ModuleColumn] = values[TypeColumn];
                break;
            case RowVariant.FunctionAsTypeDotMethod:
                var frames = e.Exceptions.SelectMany(x => x.Frames).ToArray();
                values[FunctionColumn] = frames.Select(f => f.Type is null ? f.Function : f.Type + "." + f.Function).ToArray();
                values[TypeColumn] = frames.Select(_ => "").ToArray();
                values[ModuleColumn] = values[TypeColumn];
                break;
        }
    }
}

/// <summary>Rows other than the store's, for measuring what a change of the events table's rows would save.</summary>
internal enum RowVariant
{
    /// <summary>As the store writes them.</summary>
    Store,

    /// <summary>The payload as plain JSON, as the store wrote it before it compressed it.</summary>
    PlainJsonPayload,

    /// <summary>Only in-app frames and each exception's throw site in the <c>frames</c> columns (the payload keeps every frame).</summary>
    InAppFramesAndThrowSites,

    /// <summary><c>frames.type</c> and <c>frames.module</c> empty.</summary>
    WithoutFrameTypeAndModule,

    /// <summary><c>frames.function</c> as Type.Method, <c>frames.type</c> and <c>frames.module</c> empty.</summary>
    FunctionAsTypeDotMethod,
}
