namespace ErrorHub.Storage;

/// <summary>
/// Saved searches of the issue list (Sentry's too): a named query of one project, either one person's own or shared with
/// everyone in the project, and each person's pinned default search per project. The store keeps the records and their
/// bounds (name, length, how many, unique names per owner); who may change which is the caller's policy. A query is
/// kept as the caller gives it: the dashboard stores the list's address query (<c>status=regressed&amp;assigned=me</c>).
/// </summary>
public interface ISavedSearches
{
    /// <summary>The longest name, after trimming.</summary>
    const int MaxNameLength = 100;

    /// <summary>The longest query: the issue list's own limit on its search text.</summary>
    const int MaxQueryLength = IssueFilter.MaxSearchLength;

    /// <summary>The most saved searches one person keeps in one project, and the most shared ones a project has.</summary>
    const int MaxPerOwner = 100;

    /// <summary>The longest pinned value: a saved search's id or a recommended search's key.</summary>
    const int MaxPinLength = 64;

    /// <summary>The project's shared searches and <paramref name="userId"/>'s own, shared first, then by name.</summary>
    Task<IReadOnlyList<SavedSearch>> GetSearchesAsync(int projectId, Guid userId, CancellationToken cancellationToken = default);

    /// <summary>The saved search, whoever owns it; null when there is none in this project (or it was deleted).</summary>
    Task<SavedSearch?> GetSearchAsync(int projectId, Guid searchId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a new saved search. <see cref="SavedSearchChange.DuplicateName"/> when its owner (or, shared, the project)
    /// has one of that name already (compared ignoring case), <see cref="SavedSearchChange.TooMany"/> at
    /// <see cref="MaxPerOwner"/>. Throws <see cref="ArgumentException"/> for a name or query out of bounds.
    /// </summary>
    Task<SavedSearchChange> CreateAsync(SavedSearch search, CancellationToken cancellationToken = default);

    /// <summary>Renames the search and replaces its query; its owner, creator and creation time stay.</summary>
    Task<SavedSearchChange> UpdateAsync(int projectId, Guid searchId, string name, string query, CancellationToken cancellationToken = default);

    /// <summary>Deletes the search and unpins it for everyone who pinned it. False when there is no such search.</summary>
    Task<bool> DeleteAsync(int projectId, Guid searchId, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>What <paramref name="userId"/> pinned as the project's default (a saved search's id or a recommended key), or null.</summary>
    Task<string?> GetPinAsync(int projectId, Guid userId, CancellationToken cancellationToken = default);

    /// <summary>Pins <paramref name="pinned"/> as <paramref name="userId"/>'s default in the project; null unpins.</summary>
    Task SetPinAsync(int projectId, Guid userId, string? pinned, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Deletes every saved search and pin of a deleted project.</summary>
    Task ForgetProjectAsync(int projectId, DateTimeOffset at, CancellationToken cancellationToken = default);
}

/// <summary>A saved search: <see cref="OwnerId"/> null is shared with everyone in the project.</summary>
public sealed record SavedSearch(Guid Id, int ProjectId, Guid? OwnerId, string Name, string Query, Guid CreatedBy, DateTimeOffset CreatedAt)
{
    public bool IsShared => OwnerId is null;
}

/// <summary>What a create or update did.</summary>
public enum SavedSearchChange
{
    Done,
    NotFound,
    DuplicateName,
    TooMany,
}

/// <summary>What both stores share: the bounds of names, queries and pins, and the checks before a write.</summary>
internal static class SavedSearchRules
{
    /// <summary>The owner column's value: an account's id, or empty for a shared search.</summary>
    public static string OwnerText(Guid? ownerId) => ownerId?.ToString("D") ?? "";

    public static Guid? OwnerFromText(string text) => text.Length == 0 ? null : Guid.Parse(text);

    /// <summary>Throws for a name or query the interface's bounds refuse; callers trim names first.</summary>
    public static void Validate(string name, string query)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(query);
        if (name.Length == 0 || name.Length > ISavedSearches.MaxNameLength || name.Trim().Length != name.Length || name.Any(char.IsControl))
        {
            throw new ArgumentException($"A saved search's name is 1 to {ISavedSearches.MaxNameLength} characters, trimmed, without control characters.", nameof(name));
        }

        if (query.Length > ISavedSearches.MaxQueryLength || query.Any(char.IsControl))
        {
            throw new ArgumentException($"A saved search's query is at most {ISavedSearches.MaxQueryLength} characters, without control characters.", nameof(query));
        }
    }

    public static void ValidatePin(string? pinned)
    {
        if (pinned is not null && (pinned.Length == 0 || pinned.Length > ISavedSearches.MaxPinLength || pinned.Any(char.IsControl)))
        {
            throw new ArgumentException($"A pinned search is 1 to {ISavedSearches.MaxPinLength} characters.", nameof(pinned));
        }
    }

    /// <summary>Whether <paramref name="search"/> may join <paramref name="owners"/>' searches (those of the same owner, itself excluded).</summary>
    public static SavedSearchChange Check(SavedSearch search, IReadOnlyCollection<SavedSearch> owners, bool isNew)
    {
        var others = owners.Where(other => other.Id != search.Id).ToList();
        if (others.Any(other => string.Equals(other.Name, search.Name, StringComparison.OrdinalIgnoreCase)))
        {
            return SavedSearchChange.DuplicateName;
        }

        return isNew && others.Count >= ISavedSearches.MaxPerOwner ? SavedSearchChange.TooMany : SavedSearchChange.Done;
    }

    /// <summary>Shared first, then by name as people read them.</summary>
    public static IReadOnlyList<SavedSearch> InListOrder(IEnumerable<SavedSearch> searches) =>
        [.. searches.OrderBy(search => search.IsShared ? 0 : 1).ThenBy(search => search.Name, StringComparer.OrdinalIgnoreCase).ThenBy(search => search.Id)];
}
