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
            var space = char.IsControl(c) || char.IsWhiteSpace(c) || c is '\u2028' or '\u2029' || ReordersOrHides(c);
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

    /// <summary>
    /// <see cref="Text"/> for a name or a subject: a value too long is cut after its last whole word (when that keeps at
    /// least half of it), so an inbox list shows "Payment declined for order…" rather than "Payment declined for ord…".
    /// </summary>
    public static string Phrase(string? value, int max)
    {
        var line = Text(value, max * 2);
        if (line.Length <= max)
        {
            return line;
        }

        var space = line.LastIndexOf(' ', max - 1);
        return space >= max / 2 ? line[..space].TrimEnd() + "…" : Text(line, max);
    }

    /// <summary>
    /// Characters that change the order text is shown in or show nothing at all: the bidirectional marks, embeddings,
    /// overrides and isolates (U+202E shows <c>exe.png</c> for <c>gnp.exe</c>; the isolates U+2066-U+2069 and the Arabic
    /// letter mark were let through before), and the zero-width space, word joiner and BOM, which hide inside a word. Shown
    /// as a space, they can neither disguise a name nor hide. Zero-width (non-)joiners stay: scripts and emoji need them.
    /// </summary>
    private static bool ReordersOrHides(char c) =>
        c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069')
            or '\u200B' or '\u2060' or '\uFEFF';

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
