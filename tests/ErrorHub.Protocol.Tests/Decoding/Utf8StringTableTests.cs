using System.Text;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>The batch's string table: what comes again is made once, and the text is exactly what the bytes say.</summary>
public sealed class Utf8StringTableTests
{
    [Fact]
    public void A_string_that_comes_again_in_the_batch_is_the_same_instance()
    {
        var table = new Utf8StringTable();
        var first = table.Get("Shop.Cart.CartService"u8);
        var again = table.Get("Shop.Cart.CartService"u8);

        again.Should().Be("Shop.Cart.CartService");
        ReferenceEquals(first, again).Should().BeTrue();
        ReferenceEquals(table.Get("Shop.Cart.OrderService"u8), first).Should().BeFalse();
    }

    [Fact]
    public void Invalid_utf8_becomes_the_replacement_character_as_the_library_reads_it()
    {
        byte[] bytes = [(byte)'a', 0xff, (byte)'b', 0xc3]; // a stray byte, and a sequence cut short
        var table = new Utf8StringTable();

        table.Get(bytes).Should().Be("a\uFFFDb\uFFFD");
        table.Get(bytes).Should().Be(Encoding.UTF8.GetString(bytes), "the same text the MessagePack library's decoding gives");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(300)] // long strings are not looked up but are cut the same way
    public void A_string_is_cut_to_the_limit_and_never_inside_a_surrogate_pair(int prefix)
    {
        var text = new string('x', prefix - 1) + "😀" + "tail";
        var table = new Utf8StringTable();

        table.Get(Encoding.UTF8.GetBytes(text), maxChars: prefix).Should().Be(new string('x', prefix - 1), "the emoji's first half alone would be broken text");
        table.Get(Encoding.UTF8.GetBytes(text), maxChars: prefix + 1).Should().Be(new string('x', prefix - 1) + "😀");
        table.Get(Encoding.UTF8.GetBytes(text), maxChars: 0).Should().BeEmpty();
    }

    [Fact]
    public void A_batch_of_distinct_strings_past_the_bound_still_reads_right_and_the_table_stops_growing()
    {
        var table = new Utf8StringTable();
        for (var i = 0; i < Utf8StringTable.MaxEntries + 100; i++)
        {
            table.Get(Encoding.UTF8.GetBytes("value " + i)).Should().Be("value " + i);
        }

        var late = "value " + (Utf8StringTable.MaxEntries + 50);
        ReferenceEquals(table.Get(Encoding.UTF8.GetBytes(late)), table.Get(Encoding.UTF8.GetBytes(late))).Should().BeFalse("past the bound nothing more is kept");
        table.Get(Encoding.UTF8.GetBytes("value 1")).Should().BeSameAs(table.Get(Encoding.UTF8.GetBytes("value 1")));
    }
}
