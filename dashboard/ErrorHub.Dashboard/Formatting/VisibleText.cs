using System.Globalization;
using System.Text;

namespace ErrorHub.Dashboard.Formatting;

/// <summary>
/// Names an app sent (form fields, headers) with the characters a page would not show written out: a NUL, another control
/// character or an invisible format character (a zero-width space, a word joiner) reads as <c>\u0000</c>, <c>\u200B</c>, so
/// two fields that look alike are told apart and nothing hides in a name.
/// </summary>
internal static class VisibleText
{
    public static string Escaped(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.Any(IsInvisible))
        {
            return text ?? "";
        }

        var visible = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (IsInvisible(c))
            {
                visible.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                visible.Append(c);
            }
        }

        return visible.ToString();
    }

    private static bool IsInvisible(char c) =>
        char.IsControl(c) || (c >= '\u00AD' && char.GetUnicodeCategory(c) == UnicodeCategory.Format);
}
