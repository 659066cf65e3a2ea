using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;

namespace ErrorHub.Ingestion.Http;

/// <summary>A body too large to accept, before or after decompression.</summary>
internal sealed class BodyTooLargeException(string message) : Exception(message);

/// <summary>A body still arriving when the time for reading it was up.</summary>
internal sealed class BodyTooSlowException() : Exception("the body did not arrive in time");

/// <summary>
/// When reading a body must stop: a timestamp of <paramref name="Clock"/> compared after each read. A comparison, not a timer:
/// a cancellation source with a timeout per request would put a timer on the clock's queue for every batch, only to remove
/// it again when the body (almost always in time) has arrived.
/// </summary>
internal readonly record struct ReadDeadline(TimeProvider Clock, long Started, TimeSpan Limit)
{
    /// <summary>Whether the time is up; never for <c>default</c>, which is no deadline.</summary>
    public bool IsPast => Clock is not null && Clock.GetElapsedTime(Started) >= Limit;
}

/// <summary>
/// Reads a request body into a pooled buffer, never past a limit, and decompresses gzip into a second
/// pooled buffer that stops growing at its own limit: a small compressed bomb costs at most the limit.
/// </summary>
internal sealed class RequestBody : IDisposable
{
    /// <summary>
    /// Bodies have their own pool: the shared pool keeps an array per thread and per core for every size,
    /// which for 16 MiB buffers adds up to hundreds of megabytes held after a burst of large bodies. This
    /// one keeps at most a few arrays per size; more concurrent bodies than that get arrays the GC takes back.
    /// </summary>
    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 16 * 1024 * 1024, maxArraysPerBucket: 8);

    private byte[] _buffer;
    private int _length;

    private RequestBody(int initialSize)
    {
        _buffer = Pool.Rent(initialSize);
    }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    /// <summary>
    /// Reads <paramref name="source"/> to its end into a pooled buffer of at most <paramref name="maxBytes"/>
    /// bytes; one byte more throws <see cref="BodyTooLargeException"/>. A declared length only sizes the
    /// first buffer: what is actually read decides. Once <paramref name="deadline"/> is past, the first read that
    /// returns data throws <see cref="BodyTooSlowException"/>: a read in progress is never cancelled by it (Kestrel cannot
    /// drain the rest of a body whose read was cancelled, and the client would not get to read the answer).
    /// </summary>
    public static async Task<RequestBody> ReadAsync(
        Stream source, long? declaredLength, int maxBytes, string limitDescription, CancellationToken cancellationToken, ReadDeadline deadline = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        var initial = (int)Math.Min(Math.Max(declaredLength ?? 16 * 1024, 1024), maxBytes);
        var body = new RequestBody(initial);
        try
        {
            while (true)
            {
                // The pool may hand out a larger array than asked for: never fill it past the limit.
                var capacity = Math.Min(body._buffer.Length, maxBytes);
                if (body._length == capacity)
                {
                    if (capacity == maxBytes)
                    {
                        // Full to the limit: the body fits only if nothing follows. No buffer grows past the limit
                        // to find out (a pooled buffer one byte over a power of two would be twice the size).
                        var probe = new byte[1];
                        if (await source.ReadAsync(probe, cancellationToken) > 0)
                        {
                            throw new BodyTooLargeException($"{limitDescription} exceeds the limit of {maxBytes} bytes");
                        }

                        return body;
                    }

                    body.Grow(maxBytes);
                    capacity = Math.Min(body._buffer.Length, maxBytes);
                }

                var read = await source.ReadAsync(body._buffer.AsMemory(body._length, capacity - body._length), cancellationToken);
                if (read == 0)
                {
                    return body;
                }

                body._length += read;
                if (deadline.IsPast)
                {
                    throw new BodyTooSlowException();
                }
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decompresses gzip into a buffer of at most <paramref name="maxBytes"/>; throws
    /// <see cref="InvalidDataException"/> for data that is not gzip and <see cref="BodyTooLargeException"/>
    /// past the limit. The size the stream states in its trailer only sizes the first buffer (within what
    /// deflate can expand the body to), so an honest stream is inflated without growing and copying;
    /// whatever it states, reading stops at the limit.
    /// </summary>
    public async Task<RequestBody> GunzipAsync(int maxBytes, CancellationToken cancellationToken)
    {
        const long MaxDeflateRatio = 1032;
        var sizeHint = Math.Min(StatedGzipSize() ?? _length * 4L, _length * MaxDeflateRatio);
        using var compressed = new MemoryStream(_buffer, 0, _length, writable: false);
        await using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
        return await ReadAsync(gzip, sizeHint, maxBytes, "the decompressed body", cancellationToken);
    }

    /// <summary>
    /// Decompresses a gzip batch held in memory (the journal's, when its flusher prepares it) into a pooled buffer of at most
    /// <paramref name="maxBytes"/>, synchronously: a batch decompresses to a few hundred kilobytes, which as a new array
    /// each time would be a large object, and large objects bring on full collections. Throws like <see cref="GunzipAsync"/>.
    /// </summary>
    public static RequestBody Gunzip(ReadOnlyMemory<byte> compressed, int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        const long MaxDeflateRatio = 1032;
        var stated = compressed.Length >= 18 ? BinaryPrimitives.ReadUInt32LittleEndian(compressed.Span[^4..]) : compressed.Length * 4L;
        var sizeHint = Math.Min(stated, compressed.Length * MaxDeflateRatio);
        using var source = MemoryMarshal.TryGetArray(compressed, out var array)
            ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
            : new MemoryStream(compressed.ToArray(), writable: false);
        using var gzip = new GZipStream(source, CompressionMode.Decompress);

        // Every read of a gzip stream over memory completes at once, so this waits for nothing; one loop reads both ways.
        return ReadAsync(gzip, sizeHint, maxBytes, "the decompressed batch", CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>
    /// Whether this (gzip) body ends with the trailer of a stream that decompressed to
    /// <paramref name="decompressedLength"/> bytes: the last 4 bytes are that length modulo 2^32. A cut
    /// stream decompresses to a prefix without an error; this tells it apart (for a single-member stream,
    /// which is what clients send).
    /// </summary>
    public bool EndsWithGzipTrailerFor(int decompressedLength) => StatedGzipSize() == (uint)decompressedLength;

    /// <summary>ISIZE from the gzip trailer: the (last member's) uncompressed size modulo 2^32, as the sender states it.</summary>
    private uint? StatedGzipSize() =>
        _length >= 18 ? BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_length - 4, 4)) : null;

    public int Length => _length;

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            Pool.Return(buffer);
        }
    }

    private void Grow(int maxBytes)
    {
        var larger = Pool.Rent((int)Math.Min((long)_buffer.Length * 2, maxBytes));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        Pool.Return(_buffer);
        _buffer = larger;
    }
}
