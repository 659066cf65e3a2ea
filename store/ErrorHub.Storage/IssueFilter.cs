namespace ErrorHub.Storage;

/// <summary>
/// Which events an issue list looks at. An issue is listed when at least one of its events matches
/// every filter set, and its events, users, first and last seen are those of the matching events
/// (as Sentry and Exceptionless count them); its title, culprit and level stay the issue's own.
/// Null means "any"; an empty <see cref="IssueFilter"/> lists every issue with its whole history.
/// </summary>
public sealed record IssueFilter
{
    /// <summary>
    /// A search longer than this matches nothing without asking the store: no searchable value is
    /// longer (ingest cuts messages and exception values at 8,192 characters, types and user fields at 256).
    /// </summary>
    public const int MaxSearchLength = 16_384;

    public static readonly IssueFilter None = new();

    /// <summary>Events of this environment only (exact, case-sensitive; empty means events without one).</summary>
    public string? Environment { get; init; }

    /// <summary>Events of this release only (exact, case-sensitive; empty means events without one).</summary>
    public string? Release { get; init; }

    /// <summary>Events of this level only ("fatal", "error", "warning", "info", "debug").</summary>
    public string? Level { get; init; }

    /// <summary>Events at or after this time, taken at the start of its hour (UTC).</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Events before this time, taken at the end of its hour (UTC) unless it is a whole hour.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>
    /// Text that the title, culprit, message, an exception's type or message (anywhere in the chain), or
    /// the user's id, e-mail or username contains, ignoring case. Taken literally: quotes, backslashes, <c>%</c>, <c>_</c> and SQL are just characters.
    /// </summary>
    public string? Search { get; init; }

    /// <summary>Only these issues (a triage tab: the regressed ones, say); null: any. Any number: the stores take them as a set.</summary>
    public IReadOnlyCollection<string>? Fingerprints { get; init; }

    /// <summary>Not these issues (the resolved tab leaves out the regressed ones); any number.</summary>
    public IReadOnlyCollection<string>? ExcludedFingerprints { get; init; }

    /// <summary>
    /// Only issues whose stored triage status (<see cref="IIssueStates"/>; none stored: unresolved) is one of these, or
    /// that <see cref="StatusExceptions"/> names; null: any. The store reads the states itself, so a tab holds any number of issues.
    /// </summary>
    public IReadOnlyCollection<IssueStatus>? Statuses { get; init; }

    /// <summary>
    /// With <see cref="Statuses"/>: issues listed whatever their stored status (those whose events moved them to another
    /// tab: regressed, an ignore that ended); any number.
    /// </summary>
    public IReadOnlyCollection<string>? StatusExceptions { get; init; }

    /// <summary>True when nothing is filtered: the store may read its per-issue aggregates.</summary>
    public bool IsEmpty => this == None || (Environment is null && Release is null && Level is null && Since is null && Until is null && string.IsNullOrEmpty(Search)
        && Fingerprints is null && ExcludedFingerprints is not { Count: > 0 } && Statuses is null);

    /// <summary>True when only fingerprint sets are given: the per-issue aggregates still answer.</summary>
    internal bool OnlyFingerprints => !NarrowsEvents && Since is null && Until is null;

    /// <summary>Throws for sets no store may take.</summary>
    internal void ValidateFingerprints()
    {
        // Any number of names (until December 2026 at most 5,000, which a project with more regressed issues at once exceeded).
        if (Fingerprints?.Any(fingerprint => fingerprint is null) == true || ExcludedFingerprints?.Any(fingerprint => fingerprint is null) == true
            || StatusExceptions?.Any(fingerprint => fingerprint is null) == true)
        {
            throw new ArgumentException("A fingerprint is null.", nameof(Fingerprints));
        }
    }

    /// <summary>True when events must be read one by one (a time range alone is answered from hourly aggregates).</summary>
    internal bool NarrowsEvents => Environment is not null || Release is not null || Level is not null || !string.IsNullOrEmpty(Search);

    /// <summary>True when no event can match, so a store need not run the query.</summary>
    internal bool MatchesNothing =>
        Search is { Length: > MaxSearchLength } || (RangeStart is { } start && RangeEnd is { } end && end <= start) || Fingerprints is { Count: 0 }
        || (Statuses is { Count: 0 } && StatusExceptions is not { Count: > 0 });

    /// <summary>The stored status names <see cref="Statuses"/> leaves out (an issue without a stored state is unresolved).</summary>
    internal IReadOnlyList<string> ExcludedStatusNames =>
        [.. Enum.GetValues<IssueStatus>().Where(status => Statuses?.Contains(status) == false).Select(StoredNames.Of)];

    /// <summary><see cref="Since"/> at the start of its hour.</summary>
    internal DateTimeOffset? RangeStart => Since is { } since ? HourRange.Floor(since) : null;

    /// <summary><see cref="Until"/> at the end of its hour.</summary>
    internal DateTimeOffset? RangeEnd => Until is { } until ? HourRange.Ceiling(until) : null;
}

/// <summary>Times in whole hours (UTC): ClickHouse keeps issue counts per hour, and every store answers the same.</summary>
internal static class HourRange
{
    private const long SecondsPerHour = 3600;

    public static DateTimeOffset Floor(DateTimeOffset value)
    {
        var seconds = Math.Clamp(value.ToUnixTimeSeconds(), 0, uint.MaxValue);
        return DateTimeOffset.FromUnixTimeSeconds(seconds - (seconds % SecondsPerHour));
    }

    public static DateTimeOffset Ceiling(DateTimeOffset value)
    {
        var floor = Floor(value);
        return floor < value ? floor.AddHours(1) : floor;
    }
}
