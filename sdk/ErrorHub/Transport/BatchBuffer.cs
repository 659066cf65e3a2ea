using System.Buffers;
using System.Runtime.CompilerServices;

namespace ErrorHub.Transport;

/// <summary>
/// The events of the batch being collected. An event of at least <see cref="AdoptedMinBytes"/> stays in the array it was
/// encoded into on the capturing thread: the batch takes that array over from the queue and gives it back to its pool
/// when it is cleared, so the event's bytes are not copied once more on their way into gzip (in an exception storm that
/// copy was about 1.3 % of the app's CPU, docs/benchmarks.md, section "storm10"). Smaller events are copied back to back
/// into one buffer kept from batch to batch, so that many small events do not each hold a pooled array for the
/// batch's life; that buffer is only given up after a batch that outgrew <c>maxKeptBytes</c> (one huge batch does not
/// keep its memory for good). Only the sender loop touches it.
/// </summary>
internal sealed class BatchBuffer(int maxKeptBytes)
{
    /// <summary>An event this large keeps its own array in the batch; a smaller one is copied into the shared buffer.</summary>
    internal const int AdoptedMinBytes = 2 * 1024;

    private const int InitialBytes = 16 * 1024;

    private readonly List<Part> _parts = [];
    private byte[] _buffer = new byte[InitialBytes];
    private int _written;
    private int _bytes;

    /// <summary>Events added so far.</summary>
    public int Count => _parts.Count;

    /// <summary>The events' bytes so far.</summary>
    public int Bytes => _bytes;

    /// <summary>Adds bytes encoded earlier as one whole event (copied: the caller keeps its array).</summary>
    public void Add(ReadOnlySpan<byte> encodedEvent)
    {
        var start = Reserve(encodedEvent.Length);
        encodedEvent.CopyTo(_buffer.AsSpan(start));
        _written += encodedEvent.Length;
        _parts.Add(new Part(null, null, start, encodedEvent.Length));
        _bytes += encodedEvent.Length;
    }

    /// <summary>Adds a queued event: the batch owns its array from now on (or, for a small one, copies it and returns it at once).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every event of a storm: compiled at start, as the report path
    public void Add(EncodedEvent encodedEvent)
    {
        if (encodedEvent.Length < AdoptedMinBytes)
        {
            Add(encodedEvent.Span);
            encodedEvent.Return();
            return;
        }

        _parts.Add(new Part(encodedEvent.Array, encodedEvent.Pool, 0, encodedEvent.Length));
        _bytes += encodedEvent.Length;
    }

    /// <summary>The events, as views of their arrays: valid until <see cref="Clear"/> or the next write.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a loop over every event of every batch: compiled at start
    public List<ReadOnlyMemory<byte>> Events()
    {
        var events = new List<ReadOnlyMemory<byte>>(_parts.Count);
        foreach (var part in _parts)
        {
            events.Add(new ReadOnlyMemory<byte>(part.Array ?? _buffer, part.Start, part.Length));
        }

        return events;
    }

    /// <summary>The events, each copied into an array of its own (for the disk spool and shutdown).</summary>
    public List<byte[]> ToArrays() => Events().ConvertAll(static e => e.ToArray());

    /// <summary>Forgets the events and gives the arrays it took over back to their pool.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as Events
    public void Clear()
    {
        foreach (var part in _parts)
        {
            part.Pool?.Return(part.Array!);
        }

        _parts.Clear();
        _written = 0;
        _bytes = 0;
        if (_buffer.Length > maxKeptBytes)
        {
            _buffer = new byte[InitialBytes];
        }
    }

    /// <summary>Room for <paramref name="length"/> more bytes in the shared buffer; returns where they start.</summary>
    private int Reserve(int length)
    {
        if (_buffer.Length - _written >= length)
        {
            return _written;
        }

        var required = (long)_written + length;
        var size = Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, required));
        if (size > maxKeptBytes && required <= maxKeptBytes)
        {
            // Doubling past what is kept would make a full batch give up its buffer and grow a new one every time.
            size = maxKeptBytes;
        }

        Array.Resize(ref _buffer, (int)size);
        return _written;
    }

    /// <summary>One event: in an array of its own (taken over from <see cref="Pool"/>, when not null) or in the shared buffer.</summary>
    private readonly record struct Part(byte[]? Array, ArrayPool<byte>? Pool, int Start, int Length);
}
