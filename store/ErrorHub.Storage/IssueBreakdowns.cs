namespace ErrorHub.Storage;

/// <summary>What an issue's events are broken down by on its page.</summary>
public enum BreakdownDimension
{
    Release,
    Environment,
    Browser,
    OperatingSystem,
    Server,
}

/// <summary>
/// The most frequent values of each <see cref="BreakdownDimension"/> among an issue's events, within
/// [<see cref="Since"/>, <see cref="Until"/>) when given (taken at whole hours, as the issue list's range).
/// </summary>
public sealed record BreakdownQuery(int ProjectId, string Fingerprint)
{
    public const int MaxLimit = 100;

    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }

    /// <summary>How many values per dimension, most frequent first.</summary>
    public int Limit { get; init; } = 10;

    /// <summary>Where the counting starts: <see cref="Since"/>'s whole hour (the stores count whole hours).</summary>
    public DateTimeOffset? RangeStart => Since is { } since ? HourRange.Floor(since) : null;

    /// <summary>Where the counting ends: <see cref="Until"/> rounded up to a whole hour.</summary>
    public DateTimeOffset? RangeEnd => Until is { } until ? HourRange.Ceiling(until) : null;

    internal bool MatchesNothing => RangeStart is { } start && RangeEnd is { } end && end <= start;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Limit, nameof(Limit));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Limit, MaxLimit, nameof(Limit));
    }

    /// <summary>
    /// The tags the SDK parses from the request's User-Agent (docs/protocol.md): the browser and the
    /// client's operating system. The event's own <c>os</c> is the server's, so it is not the one to break down by.
    /// </summary>
    internal const string BrowserTag = "browser";

    internal const string OperatingSystemTag = "client_os";
}

/// <summary>
/// An issue's events in the asked range (<see cref="Events"/>) and, per dimension, its most frequent
/// values; every dimension is present, in enum order, also when no event had a value for it.
/// </summary>
public sealed record IssueBreakdowns(long Events, IReadOnlyList<Breakdown> Dimensions)
{
    internal static IssueBreakdowns Empty { get; } = From(0, []);

    /// <summary>Every dimension in enum order, each from its rows (sorted here: most frequent first, then by value).</summary>
    internal static IssueBreakdowns From(long events, IEnumerable<(BreakdownDimension Dimension, string Value, long Count, long Total)> rows)
    {
        var byDimension = rows.ToLookup(row => row.Dimension);
        return new IssueBreakdowns(
            events,
            [.. Enum.GetValues<BreakdownDimension>().Select(dimension => new Breakdown(
                dimension,
                [.. byDimension[dimension].OrderByDescending(row => row.Count).ThenBy(row => row.Value, StringComparer.Ordinal).Select(row => new BreakdownValue(row.Value, row.Count))],
                byDimension[dimension].Select(row => row.Total).DefaultIfEmpty(0).First()))]);
    }
}

/// <summary>
/// One dimension's top values; <see cref="WithValue"/> counts every event that had a value for it (so
/// the events beyond the top ones are <c>WithValue</c> minus their sum, and those without one are the
/// issue's events minus <c>WithValue</c>).
/// </summary>
public sealed record Breakdown(BreakdownDimension Dimension, IReadOnlyList<BreakdownValue> Values, long WithValue);

public sealed record BreakdownValue(string Value, long Count);
