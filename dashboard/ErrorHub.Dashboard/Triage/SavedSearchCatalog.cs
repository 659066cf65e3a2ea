using System.Security.Claims;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Storage;
using Microsoft.AspNetCore.WebUtilities;

namespace ErrorHub.Dashboard.Triage;

/// <summary>
/// The issue list's saved searches, as the page and the API see them (Sentry's): the recommended ones ErrorHub ships, the
/// project's shared ones, the person's own, and the one they pinned as their default. A search's query is the list's
/// address query (<c>status=regressed&amp;assigned=me</c>), kept in the list's own canonical form, so a saved search opens
/// exactly the list it was saved from and is recognised when the list shows it. Who may change what: anyone who reads
/// the project their own searches; only admins the shared ones; nobody another person's, which nobody else ever sees.
/// </summary>
internal sealed class SavedSearchCatalog(ISavedSearches store, TimeProvider clock)
{
    /// <summary>The prefix of a recommended search's id (its pin is stored as that id).</summary>
    public const string RecommendedPrefix = "recommended:";

    /// <summary>The searches Sentry recommends, as far as the list's tabs and filters express them; in the menu's order.</summary>
    public static readonly IReadOnlyList<SavedSearchEntry> Recommended =
    [
        RecommendedSearch("unresolved", "Unresolved issues", "status=unresolved"),
        RecommendedSearch("for_review", "For review", "status=new"),
        RecommendedSearch("regressed", "Regressed", "status=regressed"),
        RecommendedSearch("assigned_to_me", "Assigned to me", "assigned=me"),
        RecommendedSearch("unassigned", "Unassigned and unresolved", "assigned=none"),
        RecommendedSearch("bookmarks", "My bookmarks", "bookmarked=me"),
        RecommendedSearch("ignored", "Ignored", "status=ignored"),
        RecommendedSearch("resolved", "Resolved", "status=resolved"),
    ];

    /// <summary>The list a query asks for, on its first page: what "the same search" means.</summary>
    public static IssueListState StateOf(string? query)
    {
        var values = QueryHelpers.ParseQuery(query is { Length: > 0 } ? (query[0] == '?' ? query : "?" + query) : "");
        string? Value(string key) => values.TryGetValue(key, out var value) ? value.ToString() : null;
        return IssueListState.From(Value("q"), Value("environment"), Value("release"), Value("level"), Value("range"), Value("sort"), Value("order"), null, Value("status"), Value("assigned"), Value("bookmarked"));
    }

    /// <summary>The canonical query of a list (without its page): the plain unresolved list is the empty query.</summary>
    public static string QueryOf(IssueListState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var url = (state with { Page = 1 }).ToUrl(0);
        var question = url.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? "" : url[(question + 1)..];
    }

    /// <summary>
    /// The link that opens a saved query. The plain list's own address opens the person's pinned search instead, so the
    /// unresolved list is asked for by name.
    /// </summary>
    public static string Url(int projectId, string query) =>
        Formatting.DashboardPaths.Issues(projectId) + "?" + (query.Length == 0 ? "status=unresolved" : query);

    /// <summary>Recommended, then the project's shared searches, then <paramref name="user"/>'s own; with which one is pinned.</summary>
    public async Task<SavedSearchList> ListAsync(int projectId, ClaimsPrincipal? user, CancellationToken cancellationToken = default)
    {
        if (AccessClaims.UserId(user) is not { } me)
        {
            return new SavedSearchList(Recommended, null);
        }

        var stored = await store.GetSearchesAsync(projectId, me, cancellationToken);
        var entries = Recommended.Concat(stored.Select(search => Entry(search, CanManage(search, user)))).ToList();
        var pin = await store.GetPinAsync(projectId, me, cancellationToken);
        return new SavedSearchList(entries, entries.FirstOrDefault(entry => entry.Id == pin));
    }

    /// <summary>The list the person opens with no query: their pinned search's, or null (the built-in default).</summary>
    public async Task<string?> PinnedQueryAsync(int projectId, ClaimsPrincipal? user, CancellationToken cancellationToken = default) =>
        (await ListAsync(projectId, user, cancellationToken)).Pinned?.Query;

    public async Task<SavedSearchResult> CreateAsync(int projectId, ClaimsPrincipal? user, string? name, string? query, bool shared, CancellationToken cancellationToken = default)
    {
        if (AccessClaims.UserId(user) is not { } me)
        {
            return SavedSearchResult.Fail(SavedSearchOutcome.Invalid, "a saved search is a person's: this caller has no account");
        }

        if (shared && !AccessClaims.IsAdmin(user))
        {
            return SavedSearchResult.Fail(SavedSearchOutcome.Forbidden, "only admins save searches for everyone in the project");
        }

        if (Problem(name, query) is { } problem)
        {
            return SavedSearchResult.Fail(SavedSearchOutcome.Invalid, problem);
        }

        // Whole seconds, as ClickHouse keeps it (SQLite keeps milliseconds): the answer to the save and every later list agree on every store.
        var createdAt = DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().ToUnixTimeSeconds());
        var search = new SavedSearch(Guid.NewGuid(), projectId, shared ? null : me, name!.Trim(), QueryOf(StateOf(query)), me, createdAt);
        return Outcome(await store.CreateAsync(search, cancellationToken), search, user);
    }

    /// <summary>Renames a search and/or saves a query over it; null keeps that part.</summary>
    public async Task<SavedSearchResult> UpdateAsync(int projectId, ClaimsPrincipal? user, string id, string? name, string? query, CancellationToken cancellationToken = default)
    {
        var (search, refusal) = await ManageableAsync(projectId, user, id, cancellationToken);
        if (search is null)
        {
            return refusal!;
        }

        if (Problem(name ?? search.Name, query ?? "") is { } problem)
        {
            return SavedSearchResult.Fail(SavedSearchOutcome.Invalid, problem);
        }

        var changed = search with { Name = name?.Trim() ?? search.Name, Query = query is null ? search.Query : QueryOf(StateOf(query)) };
        return Outcome(await store.UpdateAsync(projectId, search.Id, changed.Name, changed.Query, cancellationToken), changed, user);
    }

    public async Task<SavedSearchResult> DeleteAsync(int projectId, ClaimsPrincipal? user, string id, CancellationToken cancellationToken = default)
    {
        var (search, refusal) = await ManageableAsync(projectId, user, id, cancellationToken);
        if (search is null)
        {
            return refusal!;
        }

        return await store.DeleteAsync(projectId, search.Id, clock.GetUtcNow(), cancellationToken)
            ? new SavedSearchResult(SavedSearchOutcome.Done, Entry(search, canManage: true), null)
            : NotFound();
    }

    /// <summary>Pins a search the person sees (recommended, shared or their own) as their default in the project; null unpins.</summary>
    public async Task<SavedSearchResult> PinAsync(int projectId, ClaimsPrincipal? user, string? id, CancellationToken cancellationToken = default)
    {
        if (AccessClaims.UserId(user) is not { } me)
        {
            return SavedSearchResult.Fail(SavedSearchOutcome.Invalid, "a pinned search is a person's: this caller has no account");
        }

        if (id is null)
        {
            await store.SetPinAsync(projectId, me, null, clock.GetUtcNow(), cancellationToken);
            return new SavedSearchResult(SavedSearchOutcome.Done, null, null);
        }

        var entry = (await ListAsync(projectId, user, cancellationToken)).Entries.FirstOrDefault(entry => entry.Id == id);
        if (entry is null)
        {
            return NotFound();
        }

        await store.SetPinAsync(projectId, me, entry.Id, clock.GetUtcNow(), cancellationToken);
        return new SavedSearchResult(SavedSearchOutcome.Done, entry, null);
    }

    /// <summary>A search may be changed by its owner, and a shared one by admins; the recommended ones by nobody.</summary>
    public static bool CanManage(SavedSearch search, ClaimsPrincipal? user) =>
        search.IsShared ? AccessClaims.IsAdmin(user) : search.OwnerId == AccessClaims.UserId(user);

    /// <summary>What is wrong with a name and query, in words; null when nothing is.</summary>
    internal static string? Problem(string? name, string? query)
    {
        var trimmed = name?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            return "name is required";
        }

        if (trimmed.Length > ISavedSearches.MaxNameLength)
        {
            return $"name is at most {ISavedSearches.MaxNameLength} characters";
        }

        if (trimmed.Any(char.IsControl))
        {
            return "name holds a control character";
        }

        if (query is null)
        {
            return "query is required: the issue list's address query, e.g. status=regressed&assigned=me (empty: the unresolved list)";
        }

        if (query.Length > ISavedSearches.MaxQueryLength || QueryOf(StateOf(query)).Length > ISavedSearches.MaxQueryLength)
        {
            return $"query is at most {ISavedSearches.MaxQueryLength} characters";
        }

        return query.Any(char.IsControl) ? "query holds a control character" : null;
    }

    private async Task<(SavedSearch? Search, SavedSearchResult? Refusal)> ManageableAsync(int projectId, ClaimsPrincipal? user, string id, CancellationToken cancellationToken)
    {
        if (id.StartsWith(RecommendedPrefix, StringComparison.Ordinal) && Recommended.Any(entry => entry.Id == id))
        {
            return (null, SavedSearchResult.Fail(SavedSearchOutcome.Forbidden, "a recommended search cannot be changed: save it as a search of your own"));
        }

        // Another person's own search is as invisible as one that does not exist.
        if (!Guid.TryParse(id, out var searchId) || await store.GetSearchAsync(projectId, searchId, cancellationToken) is not { } search
            || (!search.IsShared && search.OwnerId != AccessClaims.UserId(user)))
        {
            return (null, NotFound());
        }

        return CanManage(search, user)
            ? (search, null)
            : (null, SavedSearchResult.Fail(SavedSearchOutcome.Forbidden, "only admins change the searches shared with everyone in the project"));
    }

    private static SavedSearchResult Outcome(SavedSearchChange change, SavedSearch search, ClaimsPrincipal? user) => change switch
    {
        SavedSearchChange.Done => new SavedSearchResult(SavedSearchOutcome.Done, Entry(search, CanManage(search, user)), null),
        SavedSearchChange.DuplicateName => SavedSearchResult.Fail(SavedSearchOutcome.Conflict, $"there is a saved search named “{search.Name}” already{(search.IsShared ? " shared in this project" : " of yours")}"),
        SavedSearchChange.TooMany => SavedSearchResult.Fail(SavedSearchOutcome.Conflict, $"at most {ISavedSearches.MaxPerOwner} saved searches{(search.IsShared ? " are shared in a project" : " of yours per project")}: delete one first"),
        _ => NotFound(),
    };

    private static SavedSearchResult NotFound() => SavedSearchResult.Fail(SavedSearchOutcome.NotFound, "there is no such saved search of yours or shared in this project");

    private static SavedSearchEntry Entry(SavedSearch search, bool canManage) =>
        new(search.Id.ToString("D"), search.Name, search.Query, search.IsShared ? SavedSearchVisibility.Shared : SavedSearchVisibility.Personal, canManage, search.CreatedAt);

    private static SavedSearchEntry RecommendedSearch(string key, string name, string query) =>
        new(RecommendedPrefix + key, name, QueryOf(StateOf(query)), SavedSearchVisibility.Recommended, CanManage: false, CreatedAt: null);
}

internal enum SavedSearchVisibility
{
    Recommended,
    Shared,
    Personal,
}

/// <summary>A search as the menu and the API list it: its id (a recommended one's is <c>recommended:&lt;key&gt;</c>), and the list it opens.</summary>
internal sealed record SavedSearchEntry(string Id, string Name, string Query, SavedSearchVisibility Visibility, bool CanManage, DateTimeOffset? CreatedAt)
{
    public IssueListState State => SavedSearchCatalog.StateOf(Query);
}

/// <summary>The menu: every search the person sees, and the one they pinned (null: the built-in default).</summary>
internal sealed record SavedSearchList(IReadOnlyList<SavedSearchEntry> Entries, SavedSearchEntry? Pinned);

internal enum SavedSearchOutcome
{
    Done,
    Invalid,
    NotFound,
    Forbidden,
    Conflict,
}

/// <summary>What a change did: the search, or why not (in words for the page and the API's <c>error</c>).</summary>
internal sealed record SavedSearchResult(SavedSearchOutcome Outcome, SavedSearchEntry? Search, string? Problem)
{
    public static SavedSearchResult Fail(SavedSearchOutcome outcome, string problem) => new(outcome, null, problem);
}
