using ErrorHub.Protocol.MessagePack;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>
/// A bounded, seeded fuzz: mutations of a valid document (flipped bits, replaced bytes, truncation, splices,
/// inserted and deleted runs) either decode or fail with <see cref="MessagePackDecodeException"/>. Anything else
/// (IndexOutOfRange, Overflow, OutOfMemory, InvalidCast, a stack overflow that kills the run) is a reader bug.
/// </summary>
public sealed class ReaderFuzzTests
{
    private const int CasesPerSeed = 1500;

    private static readonly MessagePackReaderLimits Tight = new()
    {
        MaxDepth = 4,
        MaxStringBytes = 64,
        MaxBinaryBytes = 16,
        MaxCollectionCount = 8,
    };

    private static readonly MessagePackReaderLimits Permissive = new()
    {
        MaxDepth = int.MaxValue,
        MaxStringBytes = int.MaxValue,
        MaxBinaryBytes = int.MaxValue,
        MaxCollectionCount = int.MaxValue,
    };

    [Theory]
    [InlineData(101)]
    [InlineData(202)]
    public void Skip_on_mutated_documents_throws_nothing_but_MessagePackDecodeException(int seed)
    {
        var random = new Random(seed);
        var original = MpCodec.Encode(SampleDocuments.ErrorEvent());
        var outcomes = new Dictionary<string, int>();

        for (var index = 0; index < CasesPerSeed; index++)
        {
            var (mutation, input) = Mutate(random, original);
            foreach (var limits in new[] { MessagePackReaderLimits.Default, Tight, Permissive })
            {
                var outcome = Run(input, limits, mutation, index, seed, (ref r) => r.Skip());
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
        }

        // The fuzz must actually reach both outcomes, or it tests nothing.
        outcomes.Should().ContainKey("decoded").And.ContainKey("rejected");
    }

    [Theory]
    [InlineData(303)]
    public void Typed_reads_on_mutated_documents_throw_nothing_but_MessagePackDecodeException(int seed)
    {
        var random = new Random(seed);
        var original = MpCodec.Encode(SampleDocuments.ErrorEvent());

        for (var index = 0; index < CasesPerSeed; index++)
        {
            var (mutation, input) = Mutate(random, original);
            foreach (var limits in new[] { MessagePackReaderLimits.Default, Tight })
            {
                Run(input, limits, mutation, index, seed, (ref r) => MpCodec.Read(ref r, input));
            }
        }
    }

    [Fact]
    public void Reads_on_random_bytes_throw_nothing_but_MessagePackDecodeException()
    {
        var random = new Random(404);
        for (var index = 0; index < 3000; index++)
        {
            var input = new byte[random.Next(0, 24)];
            random.NextBytes(input);
            Run(input, MessagePackReaderLimits.Default, "random bytes", index, 404, (ref r) => r.Skip());
            Run(input, Permissive, "random bytes", index, 404, (ref r) => MpCodec.Read(ref r, input));
        }
    }

    private static string Run(byte[] input, MessagePackReaderLimits limits, string mutation, int index, int seed, ReadAction read)
    {
        var reader = new MessagePackReader(input, limits);
        try
        {
            read(ref reader);
            return "decoded";
        }
        catch (MessagePackDecodeException error)
        {
            error.Offset.Should().BeInRange(0, input.Length, $"case {index} of seed {seed} ({mutation})");
            error.Message.Should().NotBeNullOrWhiteSpace();
            return "rejected";
        }
        catch (Exception other)
        {
            throw new Xunit.Sdk.XunitException(
                $"case {index} of seed {seed} ({mutation}) threw {other.GetType().Name} for input " +
                $"{Convert.ToHexStringLower(input)}: {other}");
        }
    }

    private static (string Mutation, byte[] Input) Mutate(Random random, byte[] original)
    {
        var bytes = new List<byte>(original);
        var steps = random.Next(1, 4);
        var names = new List<string>();
        for (var step = 0; step < steps && bytes.Count > 0; step++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0:
                    var bit = random.Next(8);
                    bytes[at] ^= (byte)(1 << bit);
                    names.Add($"flip bit {bit} at {at}");
                    break;
                case 1:
                    var value = (byte)random.Next(256);
                    bytes[at] = value;
                    names.Add($"set {at} to 0x{value:x2}");
                    break;
                case 2:
                    // A format byte with a large length or count, the most dangerous replacement.
                    var code = new byte[] { 0xdb, 0xdd, 0xdf, 0xc6, 0xc9, 0xdc, 0xde, 0xda, 0xc5, 0xc8, 0xcf, 0xd3, 0xc7 }[random.Next(13)];
                    bytes[at] = code;
                    names.Add($"set {at} to format 0x{code:x2}");
                    break;
                case 3:
                    bytes.RemoveRange(at, bytes.Count - at);
                    names.Add($"truncate to {at}");
                    break;
                case 4:
                {
                    var from = random.Next(original.Length);
                    var length = random.Next(1, Math.Min(32, original.Length - from) + 1);
                    bytes.InsertRange(at, original.AsSpan(from, length).ToArray());
                    names.Add($"splice {length} bytes from {from} in at {at}");
                    break;
                }

                case 5:
                {
                    var length = random.Next(1, Math.Min(16, bytes.Count - at) + 1);
                    bytes.RemoveRange(at, length);
                    names.Add($"delete {length} at {at}");
                    break;
                }

                default:
                {
                    var run = new byte[random.Next(1, 8)];
                    run.AsSpan().Fill(random.Next(2) == 0 ? (byte)0xff : (byte)0x00);
                    bytes.InsertRange(at, run);
                    names.Add($"insert {run.Length} x 0x{run[0]:x2} at {at}");
                    break;
                }
            }
        }

        return (string.Join(", ", names), bytes.ToArray());
    }
}
