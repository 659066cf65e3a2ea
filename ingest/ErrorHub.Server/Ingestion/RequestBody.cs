using System.Buffers;
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

    public static async Task<RequestBody> ReadAsync(Stream source, long? declaredLength, int maxBytes, string limitDescription, CancellationToken cancellationToken)
    {
        var initial = (int)Math.Clamp(declaredLength ?? 16 * 1024, 1024, maxBytes + 1L);
        var body = new RequestBody(initial);
        try
        {
            while (true)
            {
                if (body._length == body._buffer.Length)
                {
                    if (body._length > maxBytes)
                    {
                        throw new BodyTooLargeException($"{limitDescription} exceeds the limit of {maxBytes} bytes");
                    }

                    body.Grow(maxBytes + 1);
                }

                var read = await source.ReadAsync(body._buffer.AsMemory(body._length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                body._length += read;
                if (body._length > maxBytes)
                {
                    throw new BodyTooLargeException($"{limitDescription} exceeds the limit of {maxBytes} bytes");
                }
            }

            return body;
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

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Grow(int cap)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)_buffer.Length * 2, cap));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
