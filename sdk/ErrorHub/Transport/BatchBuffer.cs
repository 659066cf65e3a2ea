using System.Buffers;
using System.Runtime.CompilerServices;

namespace ErrorHub.Transport;

/// <summary>
/// The events of the batch being collected, encoded back to back into one buffer that the sender loop keeps from batch
/// to batch: no array is made per event, and the buffer is only given up after a batch that outgrew
/// <c>maxKeptBytes</c> (one huge event does not keep its memory for good). Only the sender loop touches it.
/// </summary>
internal sealed class BatchBuffer(int maxKeptBytes) : IBufferWriter<byte>
{
    private const int InitialBytes = 16 * 1024;

    private readonly List<int> _ends = [];
    private byte[] _buffer = new byte[InitialBytes];
    private int _written;

    /// <summary>Events ended so far.</summary>
    public int Count => _ends.Count;

    /// <summary>Bytes written so far, including an event being written.</summary>
    public int Bytes => _written;

    /// <summary>Adds bytes encoded earlier as one whole event.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every event of a storm: compiled at start, as the report path
    public void Add(ReadOnlySpan<byte> encodedEvent)
    {
        encodedEvent.CopyTo(GetSpan(encodedEvent.Length));
        Advance(encodedEvent.Length);
        EndEvent();
    }

    /// <summary>What was written since the last event ended becomes one event.</summary>
    public void EndEvent() => _ends.Add(_written);

    /// <summary>Forgets what was written since <see cref="Bytes"/> was <paramref name="start"/> (an event that failed or does not fit).</summary>
    public void Truncate(int start) => _written = start;

    /// <summary>The ended events, as views of this buffer: valid until <see cref="Clear"/> or the next write.</summary>
    public List<ReadOnlyMemory<byte>> Events()
    {
        var events = new List<ReadOnlyMemory<byte>>(_ends.Count);
        var start = 0;
        foreach (var end in _ends)
        {
            events.Add(new ReadOnlyMemory<byte>(_buffer, start, end - start));
            start = end;
        }

        return events;
    }

    /// <summary>The ended events, each copied into an array of its own (for the disk spool and shutdown).</summary>
    public List<byte[]> ToArrays() => Events().ConvertAll(static e => e.ToArray());

    public void Clear()
    {
        _written = 0;
        _ends.Clear();
        if (_buffer.Length > maxKeptBytes)
        {
            _buffer = new byte[InitialBytes];
        }
    }

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _written);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Reserve(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        var required = (long)_written + needed;
        var size = Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, required));
        if (size > maxKeptBytes && required <= maxKeptBytes)
        {
            // Doubling past what is kept would make a full batch give up its buffer and grow a new one every time.
            size = maxKeptBytes;
        }

        Array.Resize(ref _buffer, (int)size);
    }
}
