using System.Text;

namespace ErrorHub.Notifications.Content;

/// <summary>Values from events are hostile until bounded: no control characters, no line breaks where a line is expected, a length limit.</summary>
internal static class Bounded
{
    /// <summary>One line: control characters (CR and LF included, so no header injection) become spaces, runs of space one; cut at <paramref name="max"/> with an ellipsis.</summary>
    public static string Text(string? value, int max)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        var line = new StringBuilder(Math.Min(value.Length, max + 1));
        var lastWasSpace = false;
        foreach (var c in value)
        {
            var space = char.IsControl(c) || char.IsWhiteSpace(c) || c is '\u2028' or '\u2029' or '\u200E' or '\u200F' or '\u202A' or '\u202B' or '\u202C' or '\u202D' or '\u202E';
            if (space && lastWasSpace)
            {
                continue;
            }

            line.Append(space ? ' ' : c);
            lastWasSpace = space;
            if (line.Length > max)
            {
                break;
            }
        }

        var text = line.ToString().Trim();
        if (text.Length <= max)
        {
            return text;
        }

        // Do not split a surrogate pair.
        var cut = max - 1;
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1]))
        {
            cut--;
        }

        return text[..cut] + "…";
    }

    /// <summary>The last <paramref name="segments"/> dot-separated parts of a .NET name: <c>Shop.Checkout.CheckoutService.Complete</c> → <c>CheckoutService.Complete</c>.</summary>
    public static string ShortName(string? name, int segments)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "";
        }

        var end = name.IndexOf('(', StringComparison.Ordinal) is var paren and > 0 ? paren : name.Length;
        var start = end;
        for (var i = 0; i < segments; i++)
        {
            var dot = name.LastIndexOf('.', Math.Max(start - 1, 0));
            if (dot < 0 || start == 0)
            {
                return name[..end];
            }

            start = dot;
        }

        return name[(start + 1)..end];
    }
}
