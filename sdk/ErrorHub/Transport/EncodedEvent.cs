using System.Buffers;
using System.Runtime.CompilerServices;

namespace ErrorHub.Transport;

/// <summary>
/// One event's wire bytes, in an array rented from the sender's pool: what waits in the sender's queue. Bytes hold no
/// references, so a garbage collection that finds them queued has nothing to trace, and the event's objects (the
/// trace, the request copy) die young on the capturing thread instead of surviving collections in the queue.
/// </summary>
internal readonly record struct EncodedEvent(byte[] Array, int Length, ArrayPool<byte> Pool)
{
    public ReadOnlySpan<byte> Span
    {
        // Every event of a storm: compiled optimized at its first call, on the sender's thread (not listed for the warm-up's
        // PrepareMethod: the writer below implements an interface, which that leaves uncompiled).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        get => Array.AsSpan(0, Length);
    }

    /// <summary>Encodes an event into a rented array; the writer's exception (an unwritable event) goes to the caller.</summary>
    /// <remarks>Compiled optimized at its first call, the SDK's warm-up (see <see cref="EventPathWarmUp"/>), as is the writer below.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static EncodedEvent Encode(ErrorHubEvent errorEvent, ArrayPool<byte> pool)
    {
        var writer = new PooledWriter(pool);
        try
        {
            EventWireWriter.WriteEvent(writer, errorEvent);
            return writer.Detach();
        }
        catch
        {
            writer.Release();
            throw;
        }
    }

    /// <summary>Gives the array back to the pool; the event must not be read after.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Return() => Pool.Return(Array);

    /// <summary>The bytes in an array of their own (for the disk spool and the event that starts the next batch).</summary>
    public byte[] ToArrayAndReturn()
    {
        var copy = Span.ToArray();
        Return();
        return copy;
    }

    private sealed class PooledWriter(ArrayPool<byte> pool) : IBufferWriter<byte>
    {
        private const int InitialBytes = 8 * 1024;
        private byte[] _buffer = pool.Rent(InitialBytes);
        private int _written;

        public EncodedEvent Detach() => new(_buffer, _written, pool);

        public void Release() => pool.Return(_buffer);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Advance(int count)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _written);
            _written += count;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Reserve(sizeHint);
            return _buffer.AsMemory(_written);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

            var larger = pool.Rent((int)Math.Min(System.Array.MaxLength, Math.Max((long)_buffer.Length * 2, (long)_written + needed)));
            _buffer.AsSpan(0, _written).CopyTo(larger);
            pool.Return(_buffer);
            _buffer = larger;
        }
    }
}
