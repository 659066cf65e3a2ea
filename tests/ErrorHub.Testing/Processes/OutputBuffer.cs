using System.Text;

namespace ErrorHub.Testing.Processes;

/// <summary>The last lines a child process wrote, for failure messages; bounded so a chatty process cannot fill memory.</summary>
public sealed class OutputBuffer
{
    private readonly Queue<string> _lines = new();
    private readonly int _maxCharacters;
    private readonly Lock _lock = new();
    private int _characters;
    private long _dropped;
    private long _totalCharacters;

    public OutputBuffer(int maxCharacters = 64 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCharacters);
        _maxCharacters = maxCharacters;
    }

    public void Add(string line)
    {
        lock (_lock)
        {
            _lines.Enqueue(line);
            _characters += line.Length + 1;
            _totalCharacters += line.Length + 1;
            while (_characters > _maxCharacters && _lines.Count > 1)
            {
                _characters -= _lines.Dequeue().Length + 1;
                _dropped++;
            }
        }
    }

    /// <summary>Everything the process wrote so far, in characters (line ends included), kept or not.</summary>
    public long TotalCharacters
    {
        get
        {
            lock (_lock)
            {
                return _totalCharacters;
            }
        }
    }

    /// <summary>The lines kept so far, oldest first.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    public bool Contains(string text)
    {
        lock (_lock)
        {
            return _lines.Any(line => line.Contains(text, StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Waits until a line that <paramref name="matches"/> has been read: a child's output comes through a pipe, read a
    /// moment after it is written, so a line written before the process answered a request may not be here yet when
    /// the answer is. Fails, with the output, after <paramref name="timeout"/>.
    /// </summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> matches, TimeSpan timeout)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var line = Lines.FirstOrDefault(matches);
            if (line is not null)
            {
                return line;
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"No such line within {timeout.TotalSeconds:0} s. The output:\n{this}");
            }

            await Task.Delay(50);
        }
    }

    public override string ToString()
    {
        lock (_lock)
        {
            var text = new StringBuilder();
            if (_dropped > 0)
            {
                text.Append("[... ").Append(_dropped).AppendLine(" earlier lines dropped ...]");
            }

            foreach (var line in _lines)
            {
                text.AppendLine(line);
            }

            return text.ToString();
        }
    }
}
