using System.Globalization;

namespace ErrorHub.Storage;

/// <summary>
/// What people did to an issue, with who and when: status changes, assignments, comments, merges. Appended by
/// the dashboard's triage actions and read as the issue page's activity timeline and the API's state changes.
/// Never written by ingest.
/// </summary>
public interface IIssueHistory
{
    /// <summary>Records an entry; an entry with an id already stored is not added twice.</summary>
    Task AddAsync(IssueChange change, CancellationToken cancellationToken = default);

    /// <summary>A page of an issue's entries, newest first, continued by cursor.</summary>
    Task<IssueChangePage> GetChangesAsync(IssueChangeQuery query, CancellationToken cancellationToken = default);

    /// <summary>One entry of the project, or null (also once deleted).</summary>
    Task<IssueChange?> GetChangeAsync(int projectId, Guid id, CancellationToken cancellationToken = default);

    /// <summary>
    /// One entry of the issue <paramref name="fingerprint"/>, or null (also once deleted, or when it is another issue's): looked
    /// up by issue and entry, so its cost does not grow with the project's timeline (each change of an issue asks for its own).
    /// </summary>
    Task<IssueChange?> GetChangeAsync(int projectId, string fingerprint, Guid id, CancellationToken cancellationToken = default);

    /// <summary>Removes an entry from the timeline (comments are the only entries people delete).</summary>
    Task DeleteAsync(int projectId, Guid id, CancellationToken cancellationToken = default);
}

public enum IssueChangeKind
{
    Status,
    Assignment,
    Comment,
    Merge,
    Unmerge,

    /// <summary>
    /// A resolved issue had a new event that reopens it. No one did it: the entry has no actor; <see cref="IssueChange.Value"/>
    /// is the release of that event (empty: none). Added once per resolution, at that event's time.
    /// </summary>
    Regression,
}

/// <summary>
/// One entry of an issue's timeline. <see cref="Text"/> says what happened in words (for a comment: its text);
/// <see cref="Value"/> is the machine-readable part: the new status (<c>resolved</c>, <c>ignored</c>,
/// <c>unresolved</c>), the assignee's account id (empty: nobody), the other issue's fingerprint of a merge, or the release
/// of a regression's event.
/// <see cref="At"/> keeps milliseconds.
/// </summary>
public sealed record IssueChange(int ProjectId, string Fingerprint, Guid Id, DateTimeOffset At, IssueChangeKind Kind, Guid? ActorId, string ActorName)
{
    /// <summary>At most this many characters in <see cref="Text"/> (a comment's limit) and <see cref="Value"/>.</summary>
    public const int MaxTextLength = 10_000;

    public string Text { get; init; } = "";

    public string Value { get; init; } = "";

    public IssueChangeCursor Cursor => new(At.ToUnixTimeMilliseconds(), Id);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Fingerprint);
        ArgumentNullException.ThrowIfNull(ActorName);
        ArgumentNullException.ThrowIfNull(Text);
        ArgumentNullException.ThrowIfNull(Value);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Text.Length, MaxTextLength, nameof(Text));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Value.Length, MaxTextLength, nameof(Value));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ActorName.Length, MaxTextLength, nameof(ActorName));
        if (!Enum.IsDefined(Kind))
        {
            throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Unknown kind of issue change.");
        }
    }
}

/// <summary>A position in an issue's timeline (unix milliseconds and entry id): pages after it continue with older entries.</summary>
public readonly record struct IssueChangeCursor(long Time, Guid Id)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Time}-{Id:N}");

    public static bool TryParse(string? text, out IssueChangeCursor cursor)
    {
        cursor = default;
        var dash = text?.LastIndexOf('-') ?? -1;
        if (text is null || dash <= 0 || text.Length > 64
            || !long.TryParse(text.AsSpan(0, dash), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var time)
            || !Guid.TryParseExact(text.AsSpan(dash + 1), "N", out var id))
        {
            return false;
        }

        cursor = new IssueChangeCursor(time, id);
        return true;
    }
}

/// <summary>An issue's timeline entries, newest first, after <see cref="After"/>.</summary>
public sealed record IssueChangeQuery(int ProjectId, string Fingerprint)
{
    public const int MaxLimit = 1000;

    public IssueChangeCursor? After { get; init; }

    public int Limit { get; init; } = 50;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Limit, nameof(Limit));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Limit, MaxLimit, nameof(Limit));
    }
}

/// <summary>A page of timeline entries; <see cref="Next"/> continues it (null at the end).</summary>
public sealed record IssueChangePage(IReadOnlyList<IssueChange> Items, IssueChangeCursor? Next);

internal static class IssueChangeKinds
{
    public static string Of(IssueChangeKind kind) => kind switch
    {
        IssueChangeKind.Status => "status",
        IssueChangeKind.Assignment => "assignment",
        IssueChangeKind.Comment => "comment",
        IssueChangeKind.Merge => "merge",
        IssueChangeKind.Unmerge => "unmerge",
        IssueChangeKind.Regression => "regression",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown kind of issue change."),
    };

    public static IssueChangeKind Parse(string value) => value switch
    {
        "assignment" => IssueChangeKind.Assignment,
        "comment" => IssueChangeKind.Comment,
        "merge" => IssueChangeKind.Merge,
        "unmerge" => IssueChangeKind.Unmerge,
        "regression" => IssueChangeKind.Regression,
        _ => IssueChangeKind.Status,
    };
}
