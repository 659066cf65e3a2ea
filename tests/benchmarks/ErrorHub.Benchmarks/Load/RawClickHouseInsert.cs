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
        var searchText = variant == RowVariant.EmptyGroupingWithSearchText;
        var rows = events.ConvertAll(e =>
        {
            var row = new ClickHouseEventRow(e);
            var values = Columns.Select(c => c.Property.GetValue(row)).ToArray();
            Change(values, e, variant);
            return searchText ? [.. values, SearchText(e)] : values;
        });
        var types = Columns.ToDictionary(c => c.Name, c => c.Type);
        var names = Columns.Select(c => c.Name).ToList();
        if (searchText)
        {
            types["search_text"] = "String";
            names.Add("search_text");
        }

        var options = new InsertOptions
        {
            Compressor = compress ? GZipCompressor.Default : null,
            BatchSize = rows.Count,
            ColumnTypes = types,
        };
        var clock = Stopwatch.StartNew();
        await (compress ? _gzip : _uncompressed).InsertBinaryAsync(table, [.. names], rows, options);
        return clock.Elapsed;
    }

    private static readonly int GroupingColumn = Array.FindIndex(Columns, c => c.Name == "grouping");

    private static readonly int[] FrameColumns = Columns.Select((c, i) => (c, i)).Where(x => x.c.Name.StartsWith("frames.", StringComparison.Ordinal)).Select(x => x.i).ToArray();

    private static void Change(object?[] values, ErrorEvent e, RowVariant variant)
    {
        switch (variant)
        {
            case RowVariant.EveryFrame:
                SetFrames(values, e.Exceptions.SelectMany((x, owner) => x.Frames.Select(f => (owner, f))));
                break;
            case RowVariant.InAppFramesAndThrowSites:
                // .NET order: each exception's first frame is where it was thrown.
                SetFrames(values, e.Exceptions.SelectMany((x, owner) => x.Frames.Where((f, i) => f.InApp || i == 0).Select(f => (owner, f))));
                break;
            case RowVariant.NoFrames:
                SetFrames(values, []);
                break;
            case RowVariant.EmptyGrouping or RowVariant.EmptyGroupingWithSearchText:
                values[GroupingColumn] = "";
                break;
        }
    }

    /// <summary>
    /// The search text as ingest would write it into an <c>events</c> column: the fields that differ from every earlier
    /// one and are not empty, joined as the array form of <c>issue_events</c>' view joined them.
    /// </summary>
    private static string SearchText(ErrorEvent e)
    {
        string?[] fields = [e.Title, e.Culprit, e.Message, e.User?.Id, e.User?.Email, e.User?.Username, .. e.Exceptions.Select(x => x.Type), .. e.Exceptions.Select(x => x.Value)];
        return string.Join(ClickHouseSchema.SearchSeparator, fields.Where(f => !string.IsNullOrEmpty(f)).Distinct(StringComparer.Ordinal));
    }

    /// <summary>The <c>frames.*</c> columns holding <paramref name="frames"/>, valued as releases before intake20 wrote them.</summary>
    private static void SetFrames(object?[] values, IEnumerable<(int Owner, FrameRecord Frame)> frames)
    {
        var kept = frames.ToArray();
        foreach (var column in FrameColumns)
        {
            values[column] = Columns[column].Name switch
            {
                "frames.exception_index" => kept.Select(x => (ushort)Math.Min(x.Owner, ushort.MaxValue)).ToArray(),
                "frames.function" => kept.Select(x => x.Frame.Function).ToArray(),
                "frames.type" => kept.Select(x => x.Frame.Type ?? "").ToArray(),
                "frames.module" => kept.Select(x => x.Frame.Module ?? "").ToArray(),
                "frames.file" => kept.Select(x => x.Frame.File ?? "").ToArray(),
                "frames.line_number" => kept.Select(x => (uint)Math.Max(x.Frame.Line ?? 0, 0)).ToArray(),
                "frames.column_number" => kept.Select(x => (uint)Math.Max(x.Frame.Column ?? 0, 0)).ToArray(),
                "frames.in_app" => kept.Select(x => x.Frame.InApp ? (byte)1 : (byte)0).ToArray(),
                var name => throw new InvalidOperationException($"No value for the frame column {name}."),
            };
        }
    }
}

/// <summary>Rows other than the store's, for measuring what a change of the events table's rows would save.</summary>
internal enum RowVariant
{
    /// <summary>As the store writes them.</summary>
    Store,

    /// <summary>Every frame of every exception in the <c>frames</c> columns, as releases before intake20 wrote them.</summary>
    EveryFrame,

    /// <summary>Only in-app frames and each exception's throw site in the <c>frames</c> columns.</summary>
    InAppFramesAndThrowSites,

    /// <summary>Every <c>frames</c> column an empty array.</summary>
    NoFrames,

    /// <summary>The <c>grouping</c> column empty, as an insert sends all but each issue's earliest rows since intake24.</summary>
    EmptyGrouping,

    /// <summary>As <see cref="EmptyGrouping"/>, with the search text as ingest would write it in a <c>search_text</c> column.</summary>
    EmptyGroupingWithSearchText,
}
