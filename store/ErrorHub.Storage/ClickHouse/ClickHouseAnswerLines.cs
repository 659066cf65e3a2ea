using System.Text;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// The lines of a JSONEachRow answer, read with a bound on its characters: those of the whole answer, or with
/// <paramref name="eachLine"/> those since the current line began (a streamed answer holds one row at a time). Characters
/// are counted as they arrive, so a row without end is refused as soon as it passes the bound, where
/// <see cref="StreamReader.ReadLineAsync()"/> held it whole first.
/// </summary>
internal sealed class ClickHouseAnswerLines(StreamReader reader, long maxChars, bool eachLine, Func<ClickHouseException> tooLong)
{
    private readonly char[] _buffer = new char[64 * 1024];
    private int _start;
    private int _end;
    private long _charsRead;

    /// <summary>The next line without its line break, or null at the end of the answer.</summary>
    public async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        StringBuilder? partial = null;
        while (true)
        {
            if (_start < _end)
            {
                var pending = _buffer.AsSpan(_start, _end - _start);
                var lineBreak = pending.IndexOf('\n');
                if (lineBreak >= 0)
                {
                    _start += lineBreak + 1;
                    if (eachLine)
                    {
                        _charsRead = _end - _start;
                    }

                    var line = partial is null ? new string(pending[..lineBreak]) : partial.Append(pending[..lineBreak]).ToString();
                    return line.EndsWith('\r') ? line[..^1] : line;
                }

                (partial ??= new StringBuilder()).Append(pending);
                _start = _end = 0;
            }

            var read = await reader.ReadAsync(_buffer, cancellationToken);
            if (read == 0)
            {
                return partial?.ToString();
            }

            _charsRead += read;
            if (_charsRead > maxChars)
            {
                // The rest is left unread: the connection is closed, and ClickHouse ends a query whose client is gone.
                throw tooLong();
            }

            _start = 0;
            _end = read;
        }
    }

    /// <summary>Up to <paramref name="maxChars"/> of what follows the last line read (the rest of an error that broke the answer).</summary>
    public async Task<string> ReadRestAsync(int maxChars, CancellationToken cancellationToken)
    {
        var rest = new StringBuilder();
        rest.Append(_buffer, _start, Math.Min(_end - _start, maxChars));
        _start = _end = 0;
        var more = new char[maxChars - rest.Length];
        var read = more.Length == 0 ? 0 : await reader.ReadBlockAsync(more, cancellationToken);
        return rest.Append(more, 0, read).ToString();
    }
}
