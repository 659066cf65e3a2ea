using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace ErrorHub.Notifications.Content;

/// <summary>A mail's subject and its plain-text and HTML bodies.</summary>
internal sealed record MailContent(string Subject, string Text, string Html);

/// <summary>
/// Writes one mail as plain text and HTML at once, so both say the same; every value is bounded and the
/// HTML escaped here, in one place. The HTML uses inline styles only and no images, so any client shows it.
/// </summary>
internal sealed class MailWriter
{
    private const int MaxLine = 2_000;
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _html = new();

    public MailWriter()
    {
        // The colours are chosen for a light page: the page says so and paints its own background, so a dark-mode
        // client neither keeps our dark text on its dark canvas nor half-inverts it. Long words (a culprit, a
        // message without spaces) wrap, so a phone's narrow window never scrolls sideways.
        _html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<meta name=\"color-scheme\" content=\"light only\"><meta name=\"supported-color-schemes\" content=\"light only\"></head>")
            .Append("<body style=\"margin:0;padding:16px;background-color:#ffffff;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1b1b1b;line-height:1.45;overflow-wrap:anywhere;word-break:break-word\">");
    }

    public MailWriter Heading(string text)
    {
        var line = Bounded.Text(text, 300);
        _text.Append(line).Append('\n').Append(new string('=', Math.Min(line.Length, 72))).Append("\n\n");
        _html.Append("<h2 style=\"font-size:18px;margin:0 0 12px\">").Append(Encode(line)).Append("</h2>");
        return this;
    }

    public MailWriter Paragraph(string text)
    {
        var line = Bounded.Text(text, MaxLine);
        _text.Append(line).Append("\n\n");
        _html.Append("<p style=\"margin:0 0 12px\">").Append(Encode(line)).Append("</p>");
        return this;
    }

    /// <summary>Label–value lines; empty values are left out.</summary>
    public MailWriter Facts(params (string Label, string? Value)[] facts)
    {
        var shown = facts.Where(f => !string.IsNullOrWhiteSpace(f.Value)).ToList();
        if (shown.Count == 0)
        {
            return this;
        }

        _html.Append("<table style=\"border-collapse:collapse;margin:0 0 12px\">");
        foreach (var (label, value) in shown)
        {
            var line = Bounded.Text(value, MaxLine);
            _text.Append(label).Append(": ").Append(line).Append('\n');
            _html.Append("<tr><td style=\"padding:2px 12px 2px 0;color:#555;vertical-align:top\">").Append(Encode(label))
                .Append("</td><td style=\"padding:2px 0\">").Append(Encode(line)).Append("</td></tr>");
        }

        _text.Append('\n');
        _html.Append("</table>");
        return this;
    }

    /// <summary>Lines in a fixed-width block (stack frames).</summary>
    public MailWriter Code(string title, IEnumerable<string> lines)
    {
        var bounded = lines.Select(l => Bounded.Text(l, 300)).Where(l => l.Length > 0).ToList();
        if (bounded.Count == 0)
        {
            return this;
        }

        _text.Append(title).Append(":\n");
        _html.Append("<p style=\"margin:0 0 4px;color:#555\">").Append(Encode(title)).Append("</p><pre style=\"font-family:Consolas,Menlo,monospace;font-size:12px;background:#f4f4f4;padding:8px;margin:0 0 12px;white-space:pre-wrap\">");
        foreach (var line in bounded)
        {
            _text.Append("  ").Append(line).Append('\n');
            _html.Append(Encode(line)).Append('\n');
        }

        _text.Append('\n');
        _html.Append("</pre>");
        return this;
    }

    /// <summary>A list of items, each optionally a link.</summary>
    public MailWriter List(string title, IEnumerable<(string Text, Uri? Link)> items)
    {
        var shown = items.ToList();
        if (shown.Count == 0)
        {
            return this;
        }

        _text.Append(title).Append(":\n");
        _html.Append("<p style=\"margin:0 0 4px;font-weight:600\">").Append(Encode(title)).Append("</p><ul style=\"margin:0 0 12px;padding-left:20px\">");
        foreach (var (text, link) in shown)
        {
            var line = Bounded.Text(text, 400);
            _text.Append("- ").Append(line);
            _html.Append("<li>");
            if (link is null)
            {
                _html.Append(Encode(line));
            }
            else
            {
                _text.Append("\n  ").Append(link.AbsoluteUri);
                _html.Append("<a href=\"").Append(Encode(link.AbsoluteUri)).Append("\">").Append(Encode(line)).Append("</a>");
            }

            _text.Append('\n');
            _html.Append("</li>");
        }

        _text.Append('\n');
        _html.Append("</ul>");
        return this;
    }

    public MailWriter Link(string text, Uri link)
    {
        _text.Append(text).Append(":\n").Append(link.AbsoluteUri).Append("\n\n");
        _html.Append("<p style=\"margin:0 0 12px\"><a href=\"").Append(Encode(link.AbsoluteUri))
            .Append("\" style=\"display:inline-block;background:#0b5cad;color:#ffffff;padding:8px 14px;border-radius:4px;text-decoration:none\">")
            .Append(Encode(text)).Append("</a></p>");
        return this;
    }

    /// <summary>The closing line, then where to change what one gets: written out in the text part, a link in the HTML one.</summary>
    public MailWriter Footer(string text, Uri settings)
    {
        var line = Bounded.Text(text, MaxLine);
        _text.Append("-- \n").Append(line).Append(":\n").Append(settings.AbsoluteUri).Append('\n');

        // The HTML links the line's last sentence ("Unsubscribe from this issue") rather than showing the address,
        // which for a signed link is hundreds of characters no reader needs to see.
        var cut = line.LastIndexOf(". ", StringComparison.Ordinal);
        var (lead, action) = cut < 0 ? ("", line) : (line[..(cut + 2)], line[(cut + 2)..]);
        _html.Append("<hr style=\"border:none;border-top:1px solid #ddd;margin:16px 0 8px\"><p style=\"font-size:12px;color:#666;margin:0\">").Append(Encode(lead))
            .Append("<a href=\"").Append(Encode(settings.AbsoluteUri)).Append("\" style=\"color:#0b5cad\">").Append(Encode(action)).Append("</a></p>");
        return this;
    }

    public MailContent Build(string subject)
    {
        _html.Append("</body></html>");
        return new MailContent(Bounded.Text(subject, 200), _text.ToString(), _html.ToString());
    }

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>"1 event", "1,204 events": a count with its noun (a regular one, plural with an s) in the number it takes.</summary>
    public static string Count(long value, string noun) => $"{Number(value)} {noun}{(value == 1 ? "" : "s")}";

    /// <summary>"Tuesday 1 December 2026, 14:03 UTC": the day of the week helps people place a crash.</summary>
    public static string Time(DateTimeOffset time) =>
        time.UtcDateTime.ToString("dddd d MMMM yyyy, HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static string Encode(string value) => HtmlEncoder.Default.Encode(value);
}
