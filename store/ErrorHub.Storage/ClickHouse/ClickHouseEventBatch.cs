using System.Buffers;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>What the duplicate look-up needs of a row: its whole key in <c>issue_events</c>, and its receipt (docs/storage.md).</summary>
internal readonly record struct ClickHouseEventKey(int ProjectId, Guid EventId, string Fingerprint, DateTimeOffset Timestamp, DateTimeOffset ReceivedAt)
{
    public static ClickHouseEventKey Of(ErrorEvent e) => new(e.ProjectId, e.EventId, e.Fingerprint, e.Timestamp, e.ReceivedAt);
}

/// <summary>
/// A batch for one insert into the events table, held as RowBinary rows (<see cref="ClickHouseEventEncoding"/>) in pooled
/// chunks of <see cref="ChunkBytes"/>, and the look-up's key of each row. An event is filed under its issue (a legacy
/// fingerprint, <see cref="ClickHouseEventWriter"/>) and encoded as it is added, so that the batch keeps no event object: at
/// 10,000 events an insert's events were some 100 MB of small objects that every collection had to trace and copy while
/// the insert ran (docs/benchmarks.md, "journalgc", "intake13"); their rows are a third of that in a few hundred arrays the
/// collector neither traces nor moves. Only when the legacy look-up cannot be answered (the store is down) are events kept
/// as they are until <see cref="InsertAsync"/> files them.
/// </summary>
internal sealed class ClickHouseEventBatch : EventBatch
{
    /// <summary>Above the large-object threshold (85,000 bytes): chunks are never moved by a collection.</summary>
    internal const int ChunkBytes = 128 * 1024;

    /// <summary>Chunks kept for reuse once returned: 64 MB, two inserts of 10,000 events and more.</summary>
    private const int MaxPooledChunks = 512;

    /// <summary>The chunks of every batch: reused, so a stream of large inserts makes no large-object garbage.</summary>
    internal static ArrayPool<byte> ChunkPool { get; } = ArrayPool<byte>.Create(ChunkBytes, MaxPooledChunks);

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_row;

    private readonly ClickHouseEventWriter _writer;
    private readonly ArrayPool<byte> _pool;
    private readonly List<byte[]> _chunks = [];
    private readonly Dictionary<string, string> _fingerprints = new(StringComparer.Ordinal);
    private readonly List<ErrorEvent> _unfiled = [];
    private readonly ClickHouseChainCache _chains = new();
    private Row[] _rows;
    private int _rowCount;
    private long _length;
    private bool _legacyLookUpFailed;
    private bool _disposed;
    private int _leases = 1; // the batch's own, released by Dispose; each send of the rows holds one more while it reads them

    public ClickHouseEventBatch(ClickHouseEventWriter writer, int expectedEvents, ArrayPool<byte>? pool = null)
    {
        _writer = writer;
        _pool = pool ?? ChunkPool;
        _rows = ArrayPool<Row>.Shared.Rent(Math.Max(expectedEvents, 16));
    }

    public override int Count => _rowCount + _unfiled.Count;

    /// <summary>Exception chains encoded once and copied into the rows of equal chains.</summary>
    internal int CachedChains => _chains.Count;

    /// <summary>Bytes of the encoded rows.</summary>
    public override long EncodedBytes => _length;

    public override (int ProjectId, Guid EventId) IdAt(int index) => index < _rowCount
        ? (_rows[index].Key.ProjectId, _rows[index].Key.EventId)
        : (_unfiled[index - _rowCount].ProjectId, _unfiled[index - _rowCount].EventId);

    public override async ValueTask AddAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_legacyLookUpFailed)
        {
            _unfiled.AddRange(events);
            return;
        }

        HashSet<(int ProjectId, string Fingerprint)> existingIssues;
        try
        {
            existingIssues = await _writer.FindLegacyIssuesAsync(events, cancellationToken);
        }
        catch (ClickHouseException)
        {
            // The store cannot say now which issue a legacy fingerprint is: the insert asks again, and files them then. The
            // rest of the batch is not asked about either (a stalled store would hold each add for its timeout).
            _legacyLookUpFailed = true;
            _unfiled.AddRange(events);
            return;
        }

        foreach (var e in events)
        {
            AddFiled(ClickHouseEventWriter.FiledUnder(e, existingIssues));
        }
    }

    /// <summary>Encodes an event already filed under its issue.</summary>
    internal void AddFiled(ErrorEvent e)
    {
        var row = t_row ??= new ArrayBufferWriter<byte>(16 * 1024);
        row.ResetWrittenCount();
        try
        {
            var groupingLength = ClickHouseEventEncoding.Write(row, e, _chains);
            var start = _length;
            Append(row.WrittenSpan);
            if (_rowCount == _rows.Length)
            {
                var larger = ArrayPool<Row>.Shared.Rent(_rows.Length * 2);
                _rows.AsSpan(0, _rowCount).CopyTo(larger);
                ArrayPool<Row>.Shared.Return(_rows, clearArray: true);
                _rows = larger;
            }

            // Events of one issue share their fingerprint's string: a batch keeps one per issue, not one per event.
            if (!_fingerprints.TryGetValue(e.Fingerprint, out var fingerprint))
            {
                _fingerprints[e.Fingerprint] = fingerprint = e.Fingerprint;
            }

            _rows[_rowCount++] = new Row(ClickHouseEventKey.Of(e) with { Fingerprint = fingerprint }, start, row.WrittenCount, groupingLength);
        }
        finally
        {
            if (row.Capacity > 1024 * 1024)
            {
                t_row = null; // one huge event should not keep a megabyte per encoding thread
            }
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var offset = (int)(_length % ChunkBytes);
            if (offset == 0 && _length / ChunkBytes == _chunks.Count)
            {
                _chunks.Add(_pool.Rent(ChunkBytes));
            }

            var chunk = _chunks[(int)(_length / ChunkBytes)];
            var part = Math.Min(bytes.Length, ChunkBytes - offset);
            bytes[..part].CopyTo(chunk.AsSpan(offset));
            bytes = bytes[part..];
            _length += part;
        }
    }

    public override Task InsertAsync(CancellationToken cancellationToken = default) => InsertAsync(lookUpStored: true, cancellationToken);

    /// <summary>The insert; without <paramref name="lookUpStored"/>, for rows whose caller has just looked them up (<see cref="IEventWriter.PrepareInsertAsync"/>).</summary>
    internal async Task InsertAsync(bool lookUpStored, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_unfiled.Count > 0)
        {
            var existingIssues = await _writer.FindLegacyIssuesAsync(_unfiled, cancellationToken);
            foreach (var e in _unfiled)
            {
                AddFiled(ClickHouseEventWriter.FiledUnder(e, existingIssues));
            }

            _unfiled.Clear();
        }

        // An id twice in the batch (a retry that came beside its original) is written once: its first row.
        var seen = new HashSet<(int, Guid)>(_rowCount);
        var distinct = new List<int>(_rowCount);
        for (var i = 0; i < _rowCount; i++)
        {
            if (seen.Add((_rows[i].Key.ProjectId, _rows[i].Key.EventId)))
            {
                distinct.Add(i);
            }
        }

        var stored = lookUpStored ? await _writer.FindStoredEventIdsAsync(distinct, i => _rows[i].Key, cancellationToken) : [];
        var sending = new List<int>(distinct.Count);
        foreach (var i in distinct)
        {
            if (!stored.Contains((_rows[i].Key.ProjectId, _rows[i].Key.EventId)))
            {
                sending.Add(i);
            }
        }

        SortBySortingKey(sending);
        var firstSeconds = FirstSecondOfEachIssue(sending);
        var ranges = new List<RowRange>();
        foreach (var i in sending)
        {
            var (key, start, length, groupingLength) = _rows[i];

            // Only the rows that issue_firsts_mv can take an issue's first grouping from carry theirs (below).
            var emptyGrouping = Seconds(key) != firstSeconds[(key.ProjectId, key.Fingerprint)];
            if (emptyGrouping)
            {
                length -= groupingLength;
            }

            // Rows that follow each other in the chunks are one range.
            if (ranges.Count > 0 && !ranges[^1].EmptyGrouping && ranges[^1].Start + ranges[^1].Length == start)
            {
                ranges[^1] = new RowRange(ranges[^1].Start, ranges[^1].Length + length, emptyGrouping);
            }
            else
            {
                ranges.Add(new RowRange(start, length, emptyGrouping));
            }
        }

        if (ranges.Count == 0)
        {
            return;
        }

        using var content = new RowsContent(this, ranges, _writer.Client.CompressRequests);
        await _writer.Client.InsertRowBinaryAsync(_writer.Schema.Events, ClickHouseEventEncoding.Columns, content, cancellationToken);
    }

    private static long Seconds(ClickHouseEventKey key) => ClickHouseEventRow.ClampToDateTime(key.Timestamp).ToUnixTimeSeconds();

    /// <summary>
    /// The earliest second (as stored) of each issue's rows in this insert. The <c>grouping</c> column is read by nothing but
    /// <c>issue_firsts_mv</c>'s <c>argMinState(grouping, toUnixTimestamp(timestamp))</c>, which takes an issue's grouping from
    /// one of its rows of that second (the first of them in the block); the payload holds every event's grouping anyway. So
    /// only the rows of that second are sent with theirs and the others with an empty string: <c>issue_firsts</c> gets the very
    /// state it got before, and each <c>events</c> row is some 300 bytes narrower for ClickHouse to write and merge (a tenth
    /// of a realistic row; docs/benchmarks.md, "intake24"). Computed over the rows actually sent, after the duplicate look-up,
    /// so a retry whose earliest rows were stored already sends the next earliest with theirs.
    /// </summary>
    private Dictionary<(int ProjectId, string Fingerprint), long> FirstSecondOfEachIssue(List<int> sending)
    {
        var first = new Dictionary<(int ProjectId, string Fingerprint), long>();
        foreach (var i in sending)
        {
            var key = _rows[i].Key;
            var seconds = Seconds(key);
            if (!first.TryGetValue((key.ProjectId, key.Fingerprint), out var earliest) || seconds < earliest)
            {
                first[(key.ProjectId, key.Fingerprint)] = seconds;
            }
        }

        return first;
    }

    /// <summary>
    /// Puts the rows in the order of the events table's sorting key, <c>(project_id, toStartOfDay(timestamp), fingerprint,
    /// event_id)</c>, compared as ClickHouse compares them: ClickHouse checks whether an inserted block is already in that order
    /// and only otherwise sorts it, which copies every column of the block (18.16 included: <c>MergeTreeDataWriterBlocksAlreadySorted</c>).
    /// Those copies are an insert's largest allocations (the payload column of 10,000 events is some 20 MB), which ClickHouse's
    /// allocator hands back to the kernel at once and faults in again on the next insert (docs/benchmarks.md, "intake23"). An
    /// order ClickHouse does not agree with only costs it the sort it did anyway.
    /// </summary>
    private void SortBySortingKey(List<int> rows)
    {
        if (rows.Count < 2)
        {
            return;
        }

        var keys = new SortingKey[rows.Count];
        Span<byte> id = stackalloc byte[16];
        for (var n = 0; n < rows.Count; n++)
        {
            var key = _rows[rows[n]].Key;
            key.EventId.TryWriteBytes(id, bigEndian: true, out _);
            keys[n] = new SortingKey(
                (uint)key.ProjectId,
                Seconds(key) / 86_400,
                key.Fingerprint,
                System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(id[8..]),
                System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(id),
                rows[n]);
        }

        Array.Sort(keys, static (a, b) => a.CompareTo(b));
        for (var n = 0; n < keys.Length; n++)
        {
            rows[n] = keys[n].Row;
        }
    }

    /// <summary>
    /// One row's sorting key as ClickHouse orders it: a UUID is two 64-bit numbers, the text's first half stored first and the
    /// second half compared first; strings byte by byte in UTF-8.
    /// </summary>
    private readonly record struct SortingKey(uint ProjectId, long Day, string Fingerprint, ulong IdSecondHalf, ulong IdFirstHalf, int Row)
    {
        public int CompareTo(SortingKey other)
        {
            var order = ProjectId.CompareTo(other.ProjectId);
            if (order == 0)
            {
                order = Day.CompareTo(other.Day);
            }

            if (order == 0 && !ReferenceEquals(Fingerprint, other.Fingerprint))
            {
                order = CompareUtf8(Fingerprint, other.Fingerprint);
            }

            if (order == 0)
            {
                order = IdSecondHalf.CompareTo(other.IdSecondHalf);
            }

            return order != 0 ? order : IdFirstHalf.CompareTo(other.IdFirstHalf);
        }

        /// <summary>The order of the strings' UTF-8 bytes: UTF-16's order but for surrogates, which encode code points above U+FFFF.</summary>
        private static int CompareUtf8(string a, string b)
        {
            var length = Math.Min(a.Length, b.Length);
            for (var i = 0; i < length; i++)
            {
                if (a[i] != b[i])
                {
                    return CodePointOrder(a[i]).CompareTo(CodePointOrder(b[i]));
                }
            }

            return a.Length.CompareTo(b.Length);
        }

        private static int CodePointOrder(char c) => c < 0xD800 ? c : c >= 0xE000 ? c - 0x800 : c + 0x2000;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            Release();
        }

        base.Dispose(disposing);
    }

    /// <summary>One more reader of the rows; false once the batch is disposed and no reader is left.</summary>
    private bool TryLease()
    {
        var leases = Volatile.Read(ref _leases);
        while (leases > 0)
        {
            var seen = Interlocked.CompareExchange(ref _leases, leases + 1, leases);
            if (seen == leases)
            {
                return true;
            }

            leases = seen;
        }

        return false;
    }

    /// <summary>The chunks go back to the pool when the last lease ends: a send still reading them (an insert whose
    /// caller gave up on it, a stop) keeps them from being handed to another batch and overwritten under it.</summary>
    private void Release()
    {
        var leases = Volatile.Read(ref _leases);
        while (leases > 0)
        {
            var seen = Interlocked.CompareExchange(ref _leases, leases - 1, leases);
            if (seen != leases)
            {
                leases = seen;
                continue;
            }

            if (leases == 1)
            {
                foreach (var chunk in _chunks)
                {
                    _pool.Return(chunk);
                }

                _chunks.Clear();
                ArrayPool<Row>.Shared.Return(_rows, clearArray: true);
                _rows = [];
                _rowCount = 0;
                _length = 0;
            }

            return;
        }
    }

    /// <summary>A row's key, where its bytes are in the chunks, and how many of them, at their end, are its <c>grouping</c> column.</summary>
    private readonly record struct Row(ClickHouseEventKey Key, long Start, int Length, int GroupingLength);

    /// <summary>Bytes of the chunks sent as they are, followed by an empty <c>grouping</c> (one zero byte) when <see cref="EmptyGrouping"/>.</summary>
    internal readonly record struct RowRange(long Start, long Length, bool EmptyGrouping);

    /// <summary>The rows to insert, read from the batch's chunks as the request is sent (gzip'd when the connection compresses).</summary>
    internal sealed class RowsContent : HttpContent
    {
        private readonly ClickHouseEventBatch _batch;
        private readonly List<RowRange> _ranges;
        private readonly bool _compress;

        public RowsContent(ClickHouseEventBatch batch, List<RowRange> ranges, bool compress)
        {
            _batch = batch;
            _ranges = ranges;
            _compress = compress;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (compress)
            {
                Headers.ContentEncoding.Add("gzip");
            }
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            await SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            if (!_batch.TryLease())
            {
                throw new ObjectDisposedException(nameof(ClickHouseEventBatch), "the batch's rows were released before its insert was sent");
            }

            try
            {
                if (!_compress)
                {
                    await WriteRangesAsync(stream, cancellationToken);
                    return;
                }

                await using var gzip = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
                await WriteRangesAsync(gzip, cancellationToken);
            }
            finally
            {
                _batch.Release();
            }
        }

        /// <summary>
        /// Long ranges go out as the chunks hold them; short ones (rows put in the sorting key's order are often single rows)
        /// are gathered in a pooled chunk first, so that a row is not a write, and a system call, of its own.
        /// </summary>
        private async Task WriteRangesAsync(Stream stream, CancellationToken cancellationToken)
        {
            var staging = ArrayPool<byte>.Shared.Rent(ChunkBytes);
            var staged = 0;
            try
            {
                foreach (var (start, length, emptyGrouping) in _ranges)
                {
                    if (length > ChunkBytes / 4)
                    {
                        if (staged > 0)
                        {
                            await stream.WriteAsync(staging.AsMemory(0, staged), cancellationToken);
                            staged = 0;
                        }
                    }

                    var position = start;
                    var end = start + length;
                    while (position < end)
                    {
                        var offset = (int)(position % ChunkBytes);
                        var part = (int)Math.Min(end - position, ChunkBytes - offset);
                        var bytes = _batch._chunks[(int)(position / ChunkBytes)].AsMemory(offset, part);
                        if (length > ChunkBytes / 4)
                        {
                            await stream.WriteAsync(bytes, cancellationToken);
                        }
                        else
                        {
                            if (staged + part > ChunkBytes)
                            {
                                await stream.WriteAsync(staging.AsMemory(0, staged), cancellationToken);
                                staged = 0;
                            }

                            bytes.CopyTo(staging.AsMemory(staged));
                            staged += part;
                        }

                        position += part;
                    }

                    if (emptyGrouping)
                    {
                        if (staged == ChunkBytes)
                        {
                            await stream.WriteAsync(staging.AsMemory(0, staged), cancellationToken);
                            staged = 0;
                        }

                        staging[staged++] = 0; // RowBinary's empty string: a zero length
                    }
                }

                if (staged > 0)
                {
                    await stream.WriteAsync(staging.AsMemory(0, staged), cancellationToken);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(staging);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _compress ? 0 : _ranges.Sum(r => r.Length + (r.EmptyGrouping ? 1 : 0));
            return !_compress;
        }
    }
}
