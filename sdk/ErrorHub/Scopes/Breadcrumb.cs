namespace ErrorHub;

/// <summary>Something that happened before an event (a log entry, a step of the app), shown with it in order.</summary>
public sealed class Breadcrumb
{
    /// <summary>Makes a breadcrumb stamped now.</summary>
    public Breadcrumb(string message, string? category = null, ErrorHubLevel level = ErrorHubLevel.Info)
        : this(DateTimeOffset.UtcNow, message, category, level)
    {
    }

    /// <summary>Makes a breadcrumb with the given time.</summary>
    public Breadcrumb(DateTimeOffset timestamp, string message, string? category, ErrorHubLevel level)
    {
        Timestamp = timestamp;
        Message = Cut(message ?? "", MaxMessageLength);
        Category = category is null ? null : Cut(category, ErrorHubScope.MaxValueLength);
        Level = level;
    }

    internal const int MaxMessageLength = 1024;

    /// <summary>
    /// Set by the wire writer: a mark once written, then its bytes once written again (a breadcrumb of the process's
    /// scope goes with every event). A breadcrumb cannot change, so its bytes never go stale.
    /// </summary>
    internal byte[]? WireBytes;

    /// <summary>When it happened (UTC).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>What happened, cut to 1024 characters.</summary>
    public string Message { get; }

    /// <summary>Where it came from, e.g. a logger category.</summary>
    public string? Category { get; }

    /// <summary>How severe it was.</summary>
    public ErrorHubLevel Level { get; }

    private static string Cut(string value, int max) => value.Length <= max ? value : value[..max];
}
