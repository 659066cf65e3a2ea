using System.Buffers;
using System.Text;
using ErrorHub.Storage.ClickHouse;
using FluentAssertions;
using K4os.Compression.LZ4;
using Xunit;

namespace ErrorHub.Storage.Tests.ClickHouse;

/// <summary>
/// Blocks compressed apart and spliced (<see cref="Lz4Splice"/>) are one LZ4 block that LZ4 itself decodes, in one call, to
/// the bytes they were made of: what a payload whose chain an insert compressed once relies on to read back.
/// </summary>
public sealed class Lz4SpliceTests
{
    private static readonly string[] Words =
        ["\"function\":", "\"type\":", "\"module\":", "Shop.Checkout", "System.Private.CoreLib", "\"line\":", "42", "{", "}", ",", "[", "]", "\"inApp\":true", "MoveNext", "<>c__DisplayClass4_0"];

    [Fact]
    public void Blocks_compressed_apart_and_spliced_decode_in_one_call_to_the_bytes_they_were_made_of()
    {
        var random = new Random(26);
        for (var trial = 0; trial < 3000; trial++)
        {
            var parts = Enumerable.Range(0, random.Next(1, 5)).Select(_ => Part(random)).ToList();
            var output = new ArrayBufferWriter<byte>();
            var pending = new ArrayBufferWriter<byte>();
            foreach (var part in parts)
            {
                var level = random.Next(3) switch { 0 => LZ4Level.L00_FAST, 1 => LZ4Level.L09_HC, _ => LZ4Level.L12_MAX };
                Lz4Splice.TryAppend(Compress(part, level), output, pending).Should().BeTrue();
            }

            Lz4Splice.Finish(output, pending);
            var expected = parts.SelectMany(p => p).ToArray();
            var decoded = new byte[expected.Length];
            LZ4Codec.Decode(output.WrittenSpan, decoded).Should().Be(expected.Length, "trial {0} with parts of {1} bytes", trial, string.Join(", ", parts.Select(p => p.Length)));
            decoded.Should().Equal(expected, "trial {0}", trial);
        }
    }

    [Fact]
    public void Bytes_that_are_not_a_whole_LZ4_block_are_refused_and_nothing_is_appended()
    {
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("\"function\":\"MoveNext\",\"type\":\"Shop.Checkout\",", 40)));
        var block = Compress(text, LZ4Level.L00_FAST);
        var output = new ArrayBufferWriter<byte>();
        var pending = new ArrayBufferWriter<byte>();

        // Cut inside its first literals, inside its last ones, or to nothing: its sequences do not end where the bytes do.
        foreach (var length in new[] { 0, 2, block.Length - 1 })
        {
            Lz4Splice.TryAppend(block.AsSpan(0, length), output, pending).Should().BeFalse("a block cut to {0} of its {1} bytes", length, block.Length);
        }

        output.WrittenCount.Should().Be(0);
        pending.WrittenCount.Should().Be(0);
    }

    /// <summary>
    /// Parts of the kinds a payload's prefix, chain and suffix are, and the edges of the format: JSON-like text, bytes with no
    /// match at all, parts too short for a match, literal runs longer than 15 + 255 (extra length bytes), long matches.
    /// </summary>
    private static byte[] Part(Random random)
    {
        switch (random.Next(5))
        {
            case 0:
                var text = new StringBuilder();
                var words = random.Next(1, 400);
                for (var i = 0; i < words; i++)
                {
                    text.Append(Words[random.Next(Words.Length)]);
                }

                return Encoding.UTF8.GetBytes(text.ToString());
            case 1:
                return RandomBytes(random, random.Next(1, 700));
            case 2:
                return RandomBytes(random, random.Next(1, 14));
            case 3:
                var unique = RandomBytes(random, random.Next(200, 1200));
                return [.. unique, .. unique, .. RandomBytes(random, random.Next(0, 20))];
            default:
                return [.. RandomBytes(random, random.Next(0, 40)), .. new byte[random.Next(20, 3000)], .. RandomBytes(random, random.Next(0, 40))];
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Compress(byte[] source, LZ4Level level)
    {
        var buffer = new byte[LZ4Codec.MaximumOutputSize(source.Length)];
        var length = LZ4Codec.Encode(source, buffer, level);
        length.Should().BeGreaterThan(0);
        return buffer[..length];
    }
}
