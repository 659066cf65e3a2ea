using System.IO.Compression;
using ErrorHub.Ingestion.Http;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Journal;

/// <summary>The journal's flusher inflates a batch into a pooled buffer, within the same limit as a request, whatever the bytes claim.</summary>
public sealed class JournalGunzipTests
{
    [Fact]
    public void A_batch_inflates_to_its_bytes_and_a_trailer_that_lies_is_refused()
    {
        var original = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7 % 251)).ToArray();
        var gzip = Gzip(original);

        using (var inflated = RequestBody.Gunzip(gzip, maxBytes: 1 << 20))
        {
            inflated.Memory.ToArray().Should().Equal(original);
        }

        var lying = gzip.ToArray();
        BitConverter.GetBytes(16u).CopyTo(lying, lying.Length - 4); // a trailer claiming 16 bytes: sizes the first buffer, then fails the check
        var refuse = () => RequestBody.Gunzip(lying, maxBytes: 1 << 20);
        refuse.Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void A_batch_whose_trailer_states_less_than_it_inflates_to_grows_its_buffer_and_reads_whole()
    {
        // Two members: the trailer read is the last member's, which states only its own size.
        var first = Enumerable.Range(0, 200_000).Select(i => (byte)(i % 13)).ToArray();
        var second = new byte[] { 1, 2, 3 };
        using var inflated = RequestBody.Gunzip(Gzip(first).Concat(Gzip(second)).ToArray(), maxBytes: 1 << 20);
        inflated.Memory.ToArray().Should().Equal(first.Concat(second));
    }

    [Fact]
    public void A_batch_exactly_at_the_limit_fits_and_one_byte_more_is_refused_without_growing_past_it()
    {
        var original = new byte[100_000];
        using (var exact = RequestBody.Gunzip(Gzip(original), maxBytes: 100_000))
        {
            exact.Length.Should().Be(100_000);
        }

        var bomb = Gzip(new byte[100_001]);
        var refuse = () => RequestBody.Gunzip(bomb, maxBytes: 100_000);
        refuse.Should().Throw<BodyTooLargeException>();
    }

    [Fact]
    public void Bytes_that_are_not_gzip_are_refused()
    {
        var refuse = () => RequestBody.Gunzip(Enumerable.Range(0, 64).Select(i => (byte)i).ToArray(), maxBytes: 1 << 20);
        refuse.Should().Throw<InvalidDataException>();
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }
}
