using System.Buffers;
using System.Globalization;
using ErrorHub.Protocol.MessagePack;

namespace ErrorHub.Tests.Protocol.MessagePack;

internal delegate void WriteAction(ref MessagePackWriter writer);

internal delegate void ReadAction(ref MessagePackReader reader);

internal static class MessagePackTestSupport
{
    /// <summary>Parses hex such as <c>"cd 01 00"</c>; spaces are ignored.</summary>
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Runs <paramref name="write"/> against a fresh writer, flushes and returns the bytes.</summary>
    public static byte[] Encode(WriteAction write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A header followed by <paramref name="count"/> copies of <paramref name="fill"/>.</summary>
    public static byte[] HeaderThenRepeated(string headerHex, int count, byte fill)
    {
        var header = Hex(headerHex);
        var result = new byte[header.Length + count];
        header.CopyTo(result, 0);
        result.AsSpan(header.Length).Fill(fill);
        return result;
    }

    public static byte[] Concat(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }

        return result;
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Runs <paramref name="read"/> and returns the <see cref="MessagePackDecodeException"/> it must throw; any
    /// other outcome (success or another exception type) fails the test with the input shown.
    /// </summary>
    public static MessagePackDecodeException ReadFails(ReadOnlySpan<byte> data, ReadAction read, MessagePackReaderLimits? limits = null)
    {
        var reader = new MessagePackReader(data, limits);
        try
        {
            read(ref reader);
        }
        catch (MessagePackDecodeException expected)
        {
            return expected;
        }
        catch (Exception other)
        {
            throw new Xunit.Sdk.XunitException(
                $"expected a MessagePackDecodeException for {Describe(data)} but got {other.GetType().Name}: {other}");
        }

        throw new Xunit.Sdk.XunitException($"expected a MessagePackDecodeException for {Describe(data)} but the read succeeded");
    }

    /// <summary>Like <see cref="ReadFails"/>, but also returns the reader's position after the failure.</summary>
    public static (MessagePackDecodeException Error, int Position) ReadFailsAt(ReadOnlySpan<byte> data, ReadAction read, MessagePackReaderLimits? limits = null)
    {
        var reader = new MessagePackReader(data, limits);
        try
        {
            read(ref reader);
        }
        catch (MessagePackDecodeException expected)
        {
            return (expected, reader.Position);
        }
        catch (Exception other)
        {
            throw new Xunit.Sdk.XunitException(
                $"expected a MessagePackDecodeException for {Describe(data)} but got {other.GetType().Name}: {other}");
        }

        throw new Xunit.Sdk.XunitException($"expected a MessagePackDecodeException for {Describe(data)} but the read succeeded");
    }

    /// <summary>
    /// Compares two canonical texts in full; on a mismatch shows where they first differ rather than two
    /// texts of a megabyte each.
    /// </summary>
    public static void SameText(string actual, string expected, string because)
    {
        if (string.Equals(actual, expected, StringComparison.Ordinal))
        {
            return;
        }

        var at = 0;
        while (at < actual.Length && at < expected.Length && actual[at] == expected[at])
        {
            at++;
        }

        static string Window(string text, int at) =>
            (at > 150 ? "..." : string.Empty) + text[Math.Max(0, at - 150)..Math.Min(text.Length, at + 150)] + (at + 150 < text.Length ? "..." : string.Empty);

        throw new Xunit.Sdk.XunitException(
            $"{because}: the texts differ at character {at} (lengths {actual.Length} and {expected.Length})\n" +
            $"expected: {Window(expected, at)}\n" +
            $"actual:   {Window(actual, at)}");
    }

    private static string Describe(ReadOnlySpan<byte> data) =>
        data.Length <= 64 ? $"input {ToHex(data)}" : $"input of {data.Length} bytes starting {ToHex(data[..64])}";
}
