using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Scrubbing;

/// <summary>
/// The pipeline's step after decoding: values under sensitive names (headers, query parameters, cookies,
/// tags, extra data, form fields) become <see cref="Filtered"/>, and payment card numbers anywhere (breadcrumbs
/// included) become it too. A Cookie header keeps its cookies' names, never their values. The SDK scrubs the
/// same names before sending (docs/configuration.md); doing it again here protects the store from SDKs that
/// do not. Runs before grouping, so a scrubbed value never reaches a fingerprint or a title.
/// </summary>
internal sealed partial class EventScrubber
{
    public const string Filtered = "[Filtered]";

    /// <summary>Words that make a name sensitive wherever they appear in it.</summary>
    private static readonly string[] SensitiveAnywhere =
        ["password", "passwd", "secret", "token", "session", "credential", "cookie", "authorization", "apikey", "privatekey", "cvv", "cvc"];

    /// <summary>Words that make a name sensitive only as a word of their own ("key", not "monkey").</summary>
    private static readonly string[] SensitiveWords = ["pwd", "key", "auth", "card", "pin", "sig", "signature", "ssn", "otp"];

    /// <summary>
    /// Words that make a form field or extra value sensitive besides the others: what users type into forms
    /// (the .NET SDK filters the same words in form fields before sending).
    /// </summary>
    private static readonly string[] SensitiveFormWords = ["pass", "iban", "csrf", "xsrf"];

    /// <summary>Query parameters that carry one-time credentials (OAuth's <c>code</c>) although the word is harmless elsewhere ("error.code").</summary>
    private static readonly string[] SensitiveQueryWords = ["code"];

    private readonly ScrubbingOptions _options;
    private readonly HashSet<string> _extraNames;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _extraNameLookup;

    public EventScrubber(ScrubbingOptions options)
    {
        _options = options;
        _extraNames = new HashSet<string>(options.ExtraNames.Select(Squeeze), StringComparer.Ordinal);
        _extraNameLookup = _extraNames.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The event with its sensitive values filtered; the same instance when there was nothing to filter (the common case costs no copy).</summary>
    public IncomingEvent Scrub(IncomingEvent e)
    {
        if (!_options.Enabled)
        {
            return e;
        }

        var message = Text(e.Message);
        var exceptions = Exceptions(e.Exceptions);
        var request = e.Request is { } r ? Request(r) : null;
        var user = e.User is { } u ? User(u) : null;
        var tags = Map(e.Tags);
        var extra = e.Extra is { } x ? Map(x, form: true) : null;
        var breadcrumbs = e.Breadcrumbs is { } b ? Breadcrumbs(b) : null;
        return ReferenceEquals(message, e.Message) && ReferenceEquals(exceptions, e.Exceptions) && ReferenceEquals(request, e.Request)
            && ReferenceEquals(user, e.User) && ReferenceEquals(tags, e.Tags) && ReferenceEquals(extra, e.Extra) && ReferenceEquals(breadcrumbs, e.Breadcrumbs)
            ? e
            : e with { Message = message, Exceptions = exceptions, Request = request, User = user, Tags = tags, Extra = extra, Breadcrumbs = breadcrumbs };
    }

    /// <summary>Whether a header, parameter, cookie or tag of this name holds something that must not be stored.</summary>
    internal bool IsSensitive(string name) => IsSensitive(name, query: false);

    /// <summary>Whether a form field or extra value of this name holds something that must not be stored: wider than <see cref="IsSensitive(string)"/>.</summary>
    internal bool IsSensitiveFormField(string name) => IsSensitive(name, query: false, form: true);

    /// <summary>Names whose answer is kept: enough for every header, tag and field name a fleet of apps sends.</summary>
    internal const int MaxKnownNames = 4096;

    /// <summary>Names longer than this are judged each time (they are rare, and the answers kept stay small).</summary>
    private const int MaxKnownNameChars = 128;

    // Every event brings the same dozen header names and a few tags, and judging a name was most of scrubbing (docs/benchmarks.md,
    // "intake15"): the answer for a name is kept, keyed on the name compared ordinally and on which words count (query, form),
    // which is all it depends on besides this scrubber's own names. Names are chosen by senders, so only so many are kept.
    private readonly ConcurrentDictionary<(string Name, bool Query, bool Form), bool> _knownNames = new();
    private int _knownNameCount;

    /// <summary>Names whose answer is kept.</summary>
    internal int KnownNames => Volatile.Read(ref _knownNameCount);

    private bool IsSensitive(string name, bool query, bool form = false)
    {
        var key = (name, query, form);
        if (_knownNames.TryGetValue(key, out var known))
        {
            return known;
        }

        var sensitive = Judge(name, query, form);
        if (name.Length <= MaxKnownNameChars && Volatile.Read(ref _knownNameCount) < MaxKnownNames && _knownNames.TryAdd(key, sensitive))
        {
            Interlocked.Increment(ref _knownNameCount);
        }

        return sensitive;
    }

    private bool Judge(string name, bool query, bool form)
    {
        // Invisible format characters (zero-width space and joiners, the word joiner, a byte order mark, a soft hyphen) are
        // left out before the words are found: "pass\u200Bword" and "ca\u2060rd" are the words a browser shows.
        name = WithoutFormatCharacters(name);

        // Every header, tag, cookie and field name of every event comes through here: squeezed and split into words in
        // buffers on the stack, never as strings.
        Span<char> squeezed = name.Length <= StackNameChars ? stackalloc char[StackNameChars] : new char[name.Length];
        var length = 0;
        foreach (var c in name)
        {
            if (char.IsLetterOrDigit(c))
            {
                squeezed[length++] = char.ToLowerInvariant(c);
            }
        }

        squeezed = squeezed[..length];
        if (squeezed.IsEmpty)
        {
            return false;
        }

        if ((_extraNames.Count > 0 && _extraNameLookup.Contains(squeezed)) || ContainsAny(squeezed, SensitiveAnywhere))
        {
            return true;
        }

        // The words of the name: split at separators, at lower-to-upper case changes ("userPin" → user, pin), where an
        // acronym meets the next word ("OTPCode" → otp, code) and between letters and digits ("pin1" → pin, 1).
        Span<char> word = name.Length <= StackNameChars ? stackalloc char[StackNameChars] : new char[name.Length];
        var wordLength = 0;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var letterOrDigit = char.IsLetterOrDigit(c);
            var boundary = !letterOrDigit
                || (i > 0 && char.IsUpper(c) && char.IsLower(name[i - 1]))
                || (i > 0 && char.IsUpper(c) && char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]))
                || (i > 0 && char.IsLetterOrDigit(name[i - 1]) && char.IsDigit(c) != char.IsDigit(name[i - 1]));
            if (boundary && wordLength > 0)
            {
                if (IsSensitiveWord(word[..wordLength], query, form))
                {
                    return true;
                }

                wordLength = 0;
            }

            if (letterOrDigit)
            {
                word[wordLength++] = char.ToLowerInvariant(c);
            }
        }

        return wordLength > 0 && IsSensitiveWord(word[..wordLength], query, form);
    }

    /// <summary><paramref name="name"/> without its Unicode format characters (category Cf); the same string when it has none.</summary>
    private static string WithoutFormatCharacters(string name)
    {
        var first = 0;
        while (first < name.Length && !IsFormatCharacter(name[first]))
        {
            first++;
        }

        if (first == name.Length)
        {
            return name;
        }

        return string.Concat(name.Where(c => !IsFormatCharacter(c)));
    }

    // None below U+00AD (the soft hyphen): an ASCII name costs one comparison a character.
    private static bool IsFormatCharacter(char c) => c >= '\u00AD' && char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;

    /// <summary>Names up to this long are squeezed on the stack; longer ones (rare, bounded by the decoder's limits) in an array.</summary>
    private const int StackNameChars = 256;

    private static bool IsSensitiveWord(ReadOnlySpan<char> word, bool query, bool form) =>
        IsOneOf(word, SensitiveWords) || (query && IsOneOf(word, SensitiveQueryWords)) || (form && IsOneOf(word, SensitiveFormWords));

    private static bool IsOneOf(ReadOnlySpan<char> word, string[] words)
    {
        foreach (var candidate in words)
        {
            if (word.SequenceEqual(candidate))
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsAny(ReadOnlySpan<char> text, string[] words)
    {
        foreach (var candidate in words)
        {
            if (text.Contains(candidate, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private IReadOnlyList<ExceptionRecord> Exceptions(IReadOnlyList<ExceptionRecord> exceptions)
    {
        List<ExceptionRecord>? changed = null;
        for (var i = 0; i < exceptions.Count; i++)
        {
            var value = Text(exceptions[i].Value)!;
            if (!ReferenceEquals(value, exceptions[i].Value))
            {
                changed ??= [.. exceptions];
                changed[i] = exceptions[i] with { Value = value };
            }
        }

        return changed ?? exceptions;
    }

    private RequestRecord Request(RequestRecord request)
    {
        var url = Text(request.Url);
        var query = request.QueryString is { } q ? Query(q) : null;
        var headers = Map(request.Headers, headers: true);
        var form = request.Form is { } f ? Map(f, form: true) : null;
        return ReferenceEquals(url, request.Url) && ReferenceEquals(query, request.QueryString) && ReferenceEquals(headers, request.Headers)
            && ReferenceEquals(form, request.Form)
            ? request
            : request with { Url = url, QueryString = query, Headers = headers, Form = form };
    }

    private UserRecord? User(UserRecord user)
    {
        var id = Text(user.Id);
        var username = Text(user.Username);
        var email = Text(user.Email);
        var ip = _options.RemoveIpAddresses ? null : user.IpAddress;
        if (ReferenceEquals(id, user.Id) && ReferenceEquals(username, user.Username) && ReferenceEquals(email, user.Email) && ReferenceEquals(ip, user.IpAddress))
        {
            return user;
        }

        return id is null && username is null && email is null && ip is null ? null : new UserRecord(id, username, email, ip);
    }

    /// <summary>Headers, tags, form fields or extra values with sensitive values filtered; the same map when nothing changes.</summary>
    private IReadOnlyDictionary<string, string> Map(IReadOnlyDictionary<string, string> map, bool form = false, bool headers = false)
    {
        Dictionary<string, string>? changed = null;
        foreach (var (name, value) in map)
        {
            var scrubbed = headers && string.Equals(name, "Cookie", StringComparison.OrdinalIgnoreCase) ? CookieNames(value)
                : IsSensitive(name, query: false, form) ? Filtered
                : Text(value)!;
            if (!string.Equals(scrubbed, value, StringComparison.Ordinal))
            {
                changed ??= map is Dictionary<string, string> { Comparer: var comparer } ? new Dictionary<string, string>(map, comparer) : new Dictionary<string, string>(map);
                changed[name] = scrubbed;
            }
        }

        return changed ?? map;
    }

    /// <summary>
    /// A Cookie header as its cookies' names, each value <see cref="Filtered"/> ("cart=[Filtered]; theme=[Filtered]"):
    /// which cookies a failing request carried can explain it, their values are sessions and secrets.
    /// Nothing that looks like a name is kept from a header that is not a cookie list.
    /// </summary>
    internal static string CookieNames(string header)
    {
        var names = new List<string>();
        foreach (var pair in header.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = (equals < 0 ? "" : pair[..equals]).Trim();
            if (name.Length > 0 && name.All(IsCookieNameCharacter))
            {
                names.Add(name + "=" + Filtered);
            }
        }

        var scrubbed = names.Count == 0 ? Filtered : string.Join("; ", names);
        return string.Equals(scrubbed, header, StringComparison.Ordinal) ? header : scrubbed;
    }

    /// <summary>RFC 6265's token characters: anything else is not a cookie name and could be a value.</summary>
    private static bool IsCookieNameCharacter(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);

    private IReadOnlyList<BreadcrumbRecord> Breadcrumbs(IReadOnlyList<BreadcrumbRecord> breadcrumbs)
    {
        List<BreadcrumbRecord>? changed = null;
        for (var i = 0; i < breadcrumbs.Count; i++)
        {
            var message = Text(breadcrumbs[i].Message)!;
            if (!ReferenceEquals(message, breadcrumbs[i].Message))
            {
                changed ??= [.. breadcrumbs];
                changed[i] = breadcrumbs[i] with { Message = message };
            }
        }

        return changed ?? breadcrumbs;
    }

    /// <summary>A query string with the values of sensitive parameters filtered; names and order are kept.</summary>
    internal string Query(string query)
    {
        if (query.Length == 0)
        {
            return query;
        }

        var changed = false;
        var text = new StringBuilder(query.Length);
        foreach (var pair in query.Split('&'))
        {
            if (text.Length > 0)
            {
                text.Append('&');
            }

            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? pair : pair[..equals];
            if (equals >= 0 && IsSensitive(Unescape(name), query: true) && pair[(equals + 1)..] != Filtered)
            {
                text.Append(name).Append('=').Append(Filtered);
                changed = true;
            }
            else
            {
                text.Append(pair);
            }
        }

        return Text(changed ? text.ToString() : query)!;
    }

    /// <summary>Card numbers in free text become <see cref="Filtered"/> (when enabled); anything else stays.</summary>
    internal string? Text(string? value)
    {
        if (!_options.CardNumbers || string.IsNullOrEmpty(value) || !value.AsSpan().ContainsAnyInRange('0', '9'))
        {
            return value;
        }

        return CardCandidate().Replace(value, match => PassesLuhn(match.Value) ? Filtered : match.Value);
    }

    /// <summary>
    /// A card number passes the Luhn check and does not start with 0: no payment card's issuer number does (ISO/IEC 7812),
    /// while zero-led runs are common ids (a root span's parent id is sixteen zeros, which passes Luhn).
    /// </summary>
    private static bool PassesLuhn(string candidate)
    {
        if (candidate[0] == '0')
        {
            return false;
        }

        var digits = 0;
        var sum = 0;
        for (var i = candidate.Length - 1; i >= 0; i--)
        {
            var c = candidate[i];
            if (!char.IsAsciiDigit(c))
            {
                continue;
            }

            var digit = c - '0';
            if (digits % 2 == 1)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
            digits++;
        }

        return digits is >= 13 and <= 19 && sum % 10 == 0;
    }

    private static string Unescape(string name)
    {
        try
        {
            return Uri.UnescapeDataString(name.Replace('+', ' '));
        }
        catch (UriFormatException)
        {
            return name;
        }
    }

    /// <summary>Lower case, letters and digits only: "X-Api-Key" → "xapikey".</summary>
    private static string Squeeze(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (char.IsLetterOrDigit(c))
            {
                text.Append(char.ToLowerInvariant(c));
            }
        }

        return text.ToString();
    }

    /// <summary>13 to 19 digits, optionally grouped by single spaces or dashes, not part of a longer number.</summary>
    [GeneratedRegex(@"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])", RegexOptions.CultureInvariant)]
    private static partial Regex CardCandidate();
}
