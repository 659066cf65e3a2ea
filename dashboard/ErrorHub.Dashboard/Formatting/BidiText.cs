namespace ErrorHub.Dashboard.Formatting;

/// <summary>
/// User text for places that take plain text only, where neither <c>&lt;bdi&gt;</c> nor CSS reaches: the page's title
/// (the browser's tab) and a select's options. Markup isolates user text with <c>&lt;bdi&gt;</c> and app.css instead.
/// </summary>
internal static class BidiText
{
    private const char FirstStrongIsolate = '\u2068';
    private const char PopDirectionalIsolate = '\u2069';

    /// <summary>
    /// <paramref name="text"/> in a first-strong isolate, its own bidi controls shown as spaces (as in the mails): an
    /// override or isolate in it ends at the isolate's end and cannot close the isolate early, so it reorders only itself.
    /// </summary>
    public static string Isolated(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        return string.Create(text.Length + 2, text, static (span, source) =>
        {
            span[0] = FirstStrongIsolate;
            for (var i = 0; i < source.Length; i++)
            {
                span[i + 1] = IsBidiControl(source[i]) ? ' ' : source[i];
            }

            span[^1] = PopDirectionalIsolate;
        });
    }

    private static bool IsBidiControl(char c) =>
        c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');
}
