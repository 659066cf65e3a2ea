using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Keys sent beside a look-up as a table of their own (ClickHouse's "external data": a TabSeparated file in the request,
/// named in the query as <see cref="Name"/>), instead of a list of literals in the query's text. 18.16 parses each tuple of
/// a literal list into a syntax tree and evaluates it into the set: 5,000 keys of (project, fingerprint, time, id) cost it
/// about 150 ms of CPU, as much as inserting their events; read as a table, about 15 ms (docs/benchmarks.md, "intake12").
/// The rows are written into a pooled buffer: a query text of thousands of keys was a large object per insert.
/// </summary>
internal sealed class ClickHouseKeyTable(string name, string structure) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _length;
    private bool _rowStarted;

    /// <summary>The table's name in the query (e.g. <c>WHERE (a, b) IN keys</c>).</summary>
    public string Name { get; } = name;

    /// <summary>Its columns as ClickHouse's <c>_structure</c> parameter takes them: <c>name Type, name Type</c>.</summary>
    public string Structure { get; } = structure;

    public int Rows { get; private set; }

    /// <summary>The rows as TabSeparated text; valid until the table is disposed.</summary>
    public ReadOnlyMemory<byte> Bytes => _buffer.AsMemory(0, _length);

    public ClickHouseKeyTable Add(long value)
    {
        Separate();
        Ensure(20);
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_length), out var written);
        _length += written;
        return this;
    }

    /// <summary>
    /// A time for a <c>DateTime</c> column as seconds since the epoch, whatever the server's time zone: ten digits, zero-padded,
    /// since 18.x reads a number there only when it has exactly ten (a time before 2001 would be refused otherwise).
    /// </summary>
    public ClickHouseKeyTable AddUnixSeconds(DateTimeOffset value)
    {
        Separate();
        Ensure(10);
        Utf8Formatter.TryFormat(ClickHouseEventRow.ClampToDateTime(value).ToUnixTimeSeconds(), _buffer.AsSpan(_length), out var written, new StandardFormat('D', 10));
        _length += written;
        return this;
    }

    public ClickHouseKeyTable Add(Guid value)
    {
        Separate();
        Ensure(36);
        value.TryFormat(_buffer.AsSpan(_length), out var written, "D");
        _length += written;
        return this;
    }

    /// <summary>A string, escaped as TabSeparated reads it back exactly (backslash, tab, line breaks and the rest of the escapes).</summary>
    public ClickHouseKeyTable Add(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Separate();
        Ensure(Encoding.UTF8.GetMaxByteCount(value.Length)); // 3 bytes a char at most: more than an escape's 2
        foreach (var rune in value.EnumerateRunes())
        {
            var escape = rune.Value switch
            {
                '\\' => (byte)'\\',
                '\t' => (byte)'t',
                '\n' => (byte)'n',
                '\r' => (byte)'r',
                '\0' => (byte)'0',
                '\b' => (byte)'b',
                '\f' => (byte)'f',
                '\'' => (byte)'\'',
                _ => (byte)0,
            };
            if (escape != 0)
            {
                _buffer[_length++] = (byte)'\\';
                _buffer[_length++] = escape;
            }
            else
            {
                _length += rune.EncodeToUtf8(_buffer.AsSpan(_length));
            }
        }

        return this;
    }

    /// <summary>Ends the row being written.</summary>
    public void EndRow()
    {
        Ensure(1);
        _buffer[_length++] = (byte)'\n';
        _rowStarted = false;
        Rows++;
    }

    private void Separate()
    {
        if (_rowStarted)
        {
            Ensure(1);
            _buffer[_length++] = (byte)'\t';
        }

        _rowStarted = true;
    }

    private void Ensure(int bytes)
    {
        if (_buffer.Length - _length >= bytes)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + bytes));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _length = 0;
    }
}
