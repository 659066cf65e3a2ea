using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace ErrorHub.Server.Ingestion;

/// <summary>A body too large to accept, before or after decompression.</summary>
internal sealed class BodyTooLargeException(string message) : Exception(message);

/// <summary>
/// Reads a request body into a pooled buffer, never past a limit, and decompresses gzip into a second
/// pooled buffer that stops growing at its own limit: a small compressed bomb costs at most the limit.
/// </summary>
internal sealed class RequestBody : IDisposable
{
    private byte[] _buffer;
    private int _length;

    private RequestBody(int initialSize)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(initialSize);
    }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);

    /// <summary>
    /// Reads <paramref name="source"/> to its end into a pooled buffer of at most <paramref name="maxBytes"/>
    /// bytes; one byte more throws <see cref="BodyTooLargeException"/>. A declared length only sizes the
    /// first buffer: what is actually read decides.
    /// </summary>
    public static async Task<RequestBody> ReadAsync(Stream source, long? declaredLength, int maxBytes, string limitDescription, CancellationToken cancellationToken)
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
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>Decompresses gzip; throws <see cref="InvalidDataException"/> for data that is not gzip.</summary>
    public async Task<RequestBody> GunzipAsync(int maxBytes, CancellationToken cancellationToken)
    {
        using var compressed = new MemoryStream(_buffer, 0, _length, writable: false);
        await using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
        return await ReadAsync(gzip, Math.Min(_length * 4L, maxBytes), maxBytes, "the decompressed body", cancellationToken);
    }

    /// <summary>
    /// Whether this (gzip) body ends with the trailer of a stream that decompressed to
    /// <paramref name="decompressedLength"/> bytes: the last 4 bytes are that length modulo 2^32. A cut
    /// stream decompresses to a prefix without an error; this tells it apart (for a single-member stream,
    /// which is what clients send).
    /// </summary>
    public bool EndsWithGzipTrailerFor(int decompressedLength) =>
        _length >= 18 && BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_length - 4, 4)) == (uint)decompressedLength;

    public int Length => _length;

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Grow(int maxBytes)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)_buffer.Length * 2, maxBytes));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
