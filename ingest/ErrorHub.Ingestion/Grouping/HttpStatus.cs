using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// Version 5: the HTTP status an HTTP client's exception reports. Every failure of one call (a refused request, a
/// missing permission, the server's outage) is thrown from the same place, so frames alone make them one issue; the
/// status tells them apart (docs/grouping.md, "Version 5"). Read from the message, as every client prints it, by the
/// status's name in <see cref="HttpStatusCode"/> or its reason phrase: "404 (Not Found)", "error 400: BadRequest",
/// "(503) Server Unavailable", "Forbidden: bot was blocked"; or by a number that only a status can be: "status code 404",
/// "was not expected (404)". A bare number is not read: a port or an id is as often one.
/// </summary>
internal static partial class HttpStatus
{
    /// <summary>Exception types of HTTP clients, by the end of their short name: .NET's own, .NET Framework's, and libraries' (Flurl, Refit, generated clients, bot APIs).</summary>
    private static readonly string[] HttpExceptionSuffixes = ["HttpRequestException", "HttpException", "WebException", "ApiException", "ApiRequestException"];

    /// <summary>The client and server error statuses (400 and above) by name and by reason phrase, longest first so that "Request Timeout" wins over a shorter name inside it.</summary>
    private static readonly (string Name, int Code)[] Names = Enum.GetValues<HttpStatusCode>()
        .Where(code => (int)code >= 400)
        .SelectMany(code => new[] { (Name: code.ToString(), Code: (int)code), (Name: Spaced(code.ToString()), Code: (int)code) })
        .Append((Name: "Server Unavailable", Code: 503)) // .NET Framework's WebException wording of 503
        .DistinctBy(name => name.Name, StringComparer.Ordinal)
        .OrderByDescending(name => name.Name.Length)
        .ToArray();

    /// <summary>"400" to "499", made once: the status is read for every HTTP client's exception.</summary>
    private static readonly string[] ClientErrors = Enumerable.Range(400, 100).Select(code => code.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Whether the exception type is an HTTP client's, whose message reports the status.</summary>
    public static bool IsHttpException(string? typeName)
    {
        if (string.IsNullOrEmpty(typeName))
        {
            return false;
        }

        var name = typeName.AsSpan().TrimEnd();
        foreach (var suffix in HttpExceptionSuffixes)
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The status the message reports, as counted: the code of a client error ("404"), and "5xx" for any server error, as one
    /// server's outage answers 500, 502, 503 or 504 from one call; null when the message names no error status.
    /// </summary>
    public static string? Of(string typeName, string? message)
    {
        if (!IsHttpException(typeName) || string.IsNullOrEmpty(message))
        {
            return null;
        }

        var text = message.AsSpan(0, Math.Min(message.Length, Grouper.MaxParameterizedChars));
        var best = -1;
        var code = 0;
        foreach (var number in StatusNumber().EnumerateMatches(text))
        {
            // Enumerated, not matched: a ValueMatch allocates nothing. The match ends with the three digits, or with them and ")".
            best = number.Index;
            code = int.Parse(text.Slice(number.Index, number.Length).TrimEnd(')')[^3..], NumberStyles.None, CultureInfo.InvariantCulture);
            break;
        }

        foreach (var (name, value) in Names)
        {
            var at = IndexOfWord(text, name);
            if (at >= 0 && (best < 0 || at < best))
            {
                best = at;
                code = value;
            }
        }

        return best < 0 ? null : code >= 500 ? "5xx" : ClientErrors[code - 400];
    }

    /// <summary>An error status as a number where nothing else stands: alone in parentheses, or after "status code".</summary>
    [GeneratedRegex(@"(?:\([45]\d\d\)|\bstatus code:? [45]\d\d\b)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex StatusNumber();

    /// <summary>The first place the name stands as a word of its own (not inside a longer word), case and all.</summary>
    private static int IndexOfWord(ReadOnlySpan<char> text, string name)
    {
        var from = 0;
        while (from < text.Length)
        {
            var at = text[from..].IndexOf(name, StringComparison.Ordinal);
            if (at < 0)
            {
                return -1;
            }

            at += from;
            var end = at + name.Length;
            if ((at == 0 || !char.IsLetterOrDigit(text[at - 1])) && (end == text.Length || !char.IsLetterOrDigit(text[end])))
            {
                return at;
            }

            from = at + 1;
        }

        return -1;
    }

    /// <summary>"NotFound" as its reason phrase, "Not Found".</summary>
    private static string Spaced(string name) => string.Concat(name.Select((c, i) => i > 0 && char.IsUpper(c) ? " " + c : c.ToString()));
}
