using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using ErrorHub.Testing.Batches;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>Bodies of exact sizes, streamed bodies without a length, and gzip bombs.</summary>
internal static class TestBodies
{
    /// <summary>A valid one-event batch of exactly <paramref name="totalBytes"/> bytes, padded with unknown fields.</summary>
    public static byte[] BatchOfExactly(int totalBytes, char fill = 'a')
    {
        const int PadBytes = 200_000; // within the 256 KiB string limit, above 65,535 so every pad has the same header size
        var pads = Math.Max(1, totalBytes / PadBytes);
        byte[] Build(int[] sizes) => Encode(Map(("events", Array(new WireMap(
            new (object, object?)[] { ("message", "padded") }.Concat(sizes.Select((size, i) => ((object)$"pad{i:000}", (object?)new string(fill, size)))))))));

        var trial = Enumerable.Repeat(70_000, pads).ToArray();
        var overhead = Build(trial).Length - trial.Sum();
        var payload = totalBytes - overhead;
        var sizes = Enumerable.Repeat(payload / pads, pads).ToArray();
        sizes[^1] += payload % pads;
        var body = Build(sizes);
        if (body.Length != totalBytes)
        {
            throw new InvalidOperationException($"built {body.Length} bytes instead of {totalBytes}");
        }

        return body;
    }

    /// <summary>Gzip of <paramref name="decompressedBytes"/> zero bytes: a few KB that inflate far past any limit.</summary>
    public static byte[] GzipBomb(long decompressedBytes)
    {
        var zeros = new byte[1024 * 1024];
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize))
        {
            for (var written = 0L; written < decompressedBytes; written += zeros.Length)
            {
                gzip.Write(zeros, 0, (int)Math.Min(zeros.Length, decompressedBytes - written));
            }
        }

        return output.ToArray();
    }

    public static HttpContent WithMessagePackHeaders(HttpContent content, bool gzip = false)
    {
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.msgpack");
        if (gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }

        return content;
    }
}

/// <summary>
/// A body of a given size sent with chunked transfer encoding (no Content-Length), made by repeating
/// one small buffer: the client never holds the whole body, so memory measured belongs to the server.
/// </summary>
internal sealed class StreamedContent(long totalBytes, byte[]? prefix = null) : HttpContent
{
    private static readonly byte[] Chunk = CreateChunk();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var sent = 0L;
        if (prefix is not null)
        {
            await stream.WriteAsync(prefix);
            sent = prefix.Length;
        }

        while (sent < totalBytes)
        {
            var count = (int)Math.Min(Chunk.Length, totalBytes - sent);
            await stream.WriteAsync(Chunk.AsMemory(0, count));
            sent += count;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    private static byte[] CreateChunk()
    {
        var chunk = new byte[64 * 1024];
        System.Array.Fill(chunk, (byte)'x');
        return chunk;
    }
}
