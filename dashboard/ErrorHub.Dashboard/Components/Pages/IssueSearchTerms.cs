using System.Text;

namespace ErrorHub.Dashboard.Components.Pages;

/// <summary>
/// The terms of Sentry's search syntax a maintainer who moves to ErrorHub types first, read out of the issue list's search:
/// <c>is:</c> (a tab: <c>unresolved</c>, <c>resolved</c>, <c>ignored</c>, <c>regressed</c>, <c>for_review</c>, <c>all</c>),
/// <c>release:</c>, <c>environment:</c> (or <c>env:</c>), <c>level:</c>, and <c>user:</c>, <c>user.email:</c>,
/// <c>user.id:</c>, <c>user.username:</c> (whose value is searched for: the search covers the user's id, e-mail and name), and
/// <c>assigned:</c> (<c>me</c>, <c>none</c>, an account's e-mail or id), <c>is:assigned</c> and <c>is:unassigned</c>
/// (<see cref="Triage.IssueAssigneeFilter"/>), and <c>is:bookmarked</c> or <c>bookmarks:me</c> (the signed-in person's bookmarks).
/// A value may be quoted (<c>release:"shop 2.4"</c>); a quote never closed ends at the next space. Anything else, a term with an unknown key or value, a negated
/// term (<c>!is:resolved</c>), a URL or a message with a colon, stays in the text searched for as written.
/// </summary>
internal sealed record IssueSearchTerms(string Text, string? Status, string? Environment, string? Release, string? Level, string? Assigned = null, bool Bookmarked = false)
{
    private static readonly Dictionary<string, string> StatusValues = new(StringComparer.OrdinalIgnoreCase)
    {
        ["unresolved"] = "unresolved",
        ["resolved"] = "resolved",
        ["ignored"] = "ignored",
        ["archived"] = "ignored", // Sentry's newer word for ignored
        ["regressed"] = "regressed",
        ["for_review"] = "new",
        ["new"] = "new",
        ["all"] = "all",
    };

    private static readonly HashSet<string> UserKeys = new(["user", "user.email", "user.id", "user.username", "user.name"], StringComparer.OrdinalIgnoreCase);

    public static IssueSearchTerms Parse(string? search)
    {
        search = search?.Trim() ?? "";
        string? status = null, environment = null, release = null, level = null, assigned = null, bookmarked = null;
        var text = new StringBuilder(search.Length);
        var kept = 0; // search[..kept] is settled: copied to text, or a term's span left out
        foreach (var (start, end, key, value) in Tokens(search))
        {
            var understood = key?.ToLowerInvariant() switch
            {
                "is" when StatusValues.TryGetValue(value!, out var tab) => Set(ref status, tab),
                "is" when value!.Equals("assigned", StringComparison.OrdinalIgnoreCase) => Set(ref assigned, Triage.IssueAssigneeFilter.Anyone),
                "is" when value!.Equals("unassigned", StringComparison.OrdinalIgnoreCase) => Set(ref assigned, Triage.IssueAssigneeFilter.Nobody),
                "assigned" when Triage.IssueAssigneeFilter.Normalize(value) is { } who => Set(ref assigned, who),
                "is" when value!.Equals("bookmarked", StringComparison.OrdinalIgnoreCase) => Set(ref bookmarked, "me"),
                "bookmarks" when value!.Equals("me", StringComparison.OrdinalIgnoreCase) => Set(ref bookmarked, "me"),
                "release" when value!.Length > 0 => Set(ref release, value),
                "environment" or "env" when value!.Length > 0 => Set(ref environment, value),
                "level" when IssueListState.Levels.Contains(value!.ToLowerInvariant()) => Set(ref level, value.ToLowerInvariant()),
                not null when UserKeys.Contains(key) && value!.Length > 0 => true,
                _ => false,
            };
            if (!understood)
            {
                continue;
            }

            // The text around a term is kept as written (the search is literal), joined by one space where the term was.
            text.Append(search, kept, start - kept);
            if (UserKeys.Contains(key!))
            {
                text.Append(value);
            }

            kept = end;
            while (kept < search.Length && char.IsWhiteSpace(search[kept]))
            {
                kept++;
            }

            if (text.Length > 0 && kept < search.Length && !char.IsWhiteSpace(text[^1]))
            {
                text.Append(' ');
            }
        }

        text.Append(search, kept, search.Length - kept);
        return new IssueSearchTerms(text.ToString().Trim(), status, environment, release, level, assigned, bookmarked is not null);
    }

    /// <summary>
    /// Whether the search still holds something shaped like a term (<c>assigned:me</c>, <c>!is:resolved</c>) once the
    /// understood ones were read out: a list it finds empty then says the search is plain text. A scheme
    /// (<c>https://</c>), a drive (<c>C:\</c>) or a word ending in a colon (<c>Timeout: 30 s</c>) is not one.
    /// </summary>
    public static bool HasTerm(string search) =>
        Tokens(search).Any(token => token.Value is { Length: > 0 } value && value[0] is not ('/' or '\\'));

    private static bool Set(ref string? field, string value)
    {
        field = value;
        return true;
    }

    /// <summary>Whitespace-separated tokens (a quoted value kept whole) by their span; with key and value when one is <c>key:value</c>.</summary>
    private static IEnumerable<(int Start, int End, string? Key, string? Value)> Tokens(string search)
    {
        var i = 0;
        while (i < search.Length)
        {
            while (i < search.Length && char.IsWhiteSpace(search[i]))
            {
                i++;
            }

            if (i == search.Length)
            {
                yield break;
            }

            var start = i;
            var quoted = false;
            var quotedValue = false;
            while (i < search.Length && (quoted || !char.IsWhiteSpace(search[i])))
            {
                if (search[i] == '"')
                {
                    quoted = !quoted;
                    quotedValue |= i > start && search[i - 1] == ':';
                }

                i++;
            }

            if (quoted)
            {
                // A quote never closed ends at the next space, as if it were closed there: it does not swallow the rest
                // of the search into one value (release:"shop 2.4 crash is release shop, then the text "2.4 crash").
                i = start;
                while (i < search.Length && !char.IsWhiteSpace(search[i]))
                {
                    i++;
                }
            }

            var raw = search[start..i];
            var colon = raw.IndexOf(':', StringComparison.Ordinal);
            var key = colon > 0 ? raw[..colon] : null;
            if (key is null || !IsKey(key))
            {
                yield return (start, i, null, null);
                continue;
            }

            var value = raw[(colon + 1)..];
            if (quotedValue && value.Length >= 2 && value[0] == '"' && value[^1] == '"')
            {
                value = value[1..^1];
            }
            else if (quoted && value.StartsWith('"'))
            {
                value = value[1..];
            }

            yield return (start, i, key, value);
        }
    }

    // A negated key (!is) is read as a key too: never understood, but a term all the same.
    private static bool IsKey(string key)
    {
        var name = key.StartsWith('!') ? key[1..] : key;
        return name.Length > 0 && char.IsAsciiLetter(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_');
    }
}
