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
        Written(value, (ref MessagePackWriter w, string v) => EventWireWriter.WriteValue(ref w, v))
            .Should().Equal(Written(value, (ref MessagePackWriter w, string v) => w.Write(v)));
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
