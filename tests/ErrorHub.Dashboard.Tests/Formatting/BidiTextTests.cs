using ErrorHub.Dashboard.Formatting;

namespace ErrorHub.Dashboard.Tests.Formatting;

public sealed class BidiTextTests
{
    [Theory]
    [InlineData("Mirror\u202E shop", "\u2068Mirror  shop\u2069")]
    [InlineData("closes early\u2069 then overrides\u202E", "\u2068closes early  then overrides \u2069")]
    [InlineData("opens\u2067 an isolate", "\u2068opens  an isolate\u2069")]
    [InlineData("\u200E\u200F\u061C\u202A\u202B\u202C\u202D\u2066\u2068", "\u2068         \u2069")]
    [InlineData("Web shop", "\u2068Web shop\u2069")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void Plain_text_is_put_in_an_isolate_its_own_controls_shown_as_spaces_so_none_can_close_or_outlast_it(string? text, string expected) =>
        BidiText.Isolated(text).Should().Be(expected);

    [Fact]
    public void Letters_of_right_to_left_scripts_and_zero_width_joiners_are_kept() =>
        BidiText.Isolated("שלום 👩\u200D💻").Should().Be("\u2068שלום 👩\u200D💻\u2069");
}
