using System.Buffers;
using ErrorHub.Transport;
using FluentAssertions;
using MessagePack;
using Xunit;

namespace ErrorHub.Protocol.Tests.Writing;

/// <summary>
/// Every string of an event (names, URLs, messages, tags, a user's name in any script) reaches the server exactly as
/// MessagePack's own writer writes it: the SDK writes ASCII strings itself, and a header one byte off would make the
/// server read every later field wrong.
/// </summary>
public sealed class StringValueTests
{
    public static TheoryData<string, string> Strings()
    {
        var data = new TheoryData<string, string>();
        foreach (var length in new[] { 0, 1, 30, 31, 32, 33, 254, 255, 256, 257, 65_534, 65_535, 65_536, 70_000 })
        {
            data.Add($"ASCII, {length} characters", new string('a', length));
            data.Add($"ASCII with one é at the end, {length + 1} characters", new string('a', length) + "é");
        }

        data.Add("a route", "GET /cart/{id}/checkout");
        data.Add("control characters and DEL", "tab\there\u0000nul\u007fdel");
        data.Add("the first character past ASCII", "\u0080");
        data.Add("a name in another script", "Łukasz Żółć 山田太郎");
        data.Add("an emoji (a surrogate pair)", "failed 🔥 again");
        data.Add("a lone surrogate", "broken \ud800 half");
        return data;
    }

    [Theory]
    [MemberData(nameof(Strings))]
    public void A_string_is_written_byte_for_byte_as_MessagePack_writes_it(string kind, string value)
    {
        _ = kind;
        var sent = value.Length <= EventWireWriter.MaxStringChars ? value : value[..EventWireWriter.MaxStringChars];
        Written(value, (ref MessagePackWriter w, string v) => EventWireWriter.WriteValue(ref w, v))
            .Should().Equal(Written(sent, (ref MessagePackWriter w, string v) => w.Write(v)));
    }

    [Fact]
    public void A_string_longer_than_ingest_takes_in_one_value_is_cut_and_never_between_the_halves_of_a_surrogate_pair()
    {
        // Ingest refuses a whole batch for one string over 256 KiB of UTF-8; 64 K characters are at most 192 KiB.
        var emojiAtTheCut = new string('a', EventWireWriter.MaxStringChars - 1) + "🔥" + new string('b', 10);
        var huge = new string('é', 1_000_000);

        Read(emojiAtTheCut).Should().Be(new string('a', EventWireWriter.MaxStringChars - 1));
        Read(huge).Should().Be(new string('é', EventWireWriter.MaxStringChars));
        System.Text.Encoding.UTF8.GetByteCount(Read(huge)!).Should().BeLessThan(256 * 1024);
    }

    private static string? Read(string value)
    {
        var reader = new MessagePackReader(Written(value, (ref MessagePackWriter w, string v) => EventWireWriter.WriteValue(ref w, v)));
        return reader.ReadString();
    }

    [Fact]
    public void Strings_written_one_after_another_each_keep_their_own_bytes()
    {
        string[] values = ["http.method", "GET", new string('x', 40), "naïve", "", new string('y', 300)];

        var together = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(together);
        foreach (var value in values)
        {
            EventWireWriter.WriteValue(ref writer, value);
        }

        writer.Flush();

        var reader = new MessagePackReader(together.WrittenMemory);
        foreach (var value in values)
        {
            reader.ReadString().Should().Be(value);
        }

        reader.End.Should().BeTrue();
    }

    private delegate void WriteString(ref MessagePackWriter writer, string value);

    private static byte[] Written(string value, WriteString write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer, value);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
