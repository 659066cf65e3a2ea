namespace ErrorHub.Storage.Events;

/// <summary>
/// An event after decoding, validation, normalization and grouping: what the stores keep.
/// Every string is already truncated to the limits in docs/protocol.md.
/// </summary>
public sealed record ErrorEvent
{
    public required Guid EventId { get; init; }
    public required int ProjectId { get; init; }

    /// <summary>When the event happened, as the SDK reported it (UTC).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>When ingest accepted the event (UTC).</summary>
    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>Grouping key: events with equal fingerprints are one issue.</summary>
    public required string Fingerprint { get; init; }
    public required int GroupingVersion { get; init; }

    /// <summary>"fatal", "error", "warning", "info" or "debug".</summary>
    public string Level { get; init; } = "error";

    /// <summary>Issue title: "Type: message" of the outermost exception, or the message.</summary>
    public required string Title { get; init; }

    /// <summary>Where it happened: the top in-app frame ("Namespace.Type.Method"), or empty.</summary>
    public string Culprit { get; init; } = "";

    public string? Message { get; init; }
    public string? Logger { get; init; }
    public string? Platform { get; init; }
    public string? Release { get; init; }
    public string? Environment { get; init; }
    public string? ServerName { get; init; }

    /// <summary>The exception chain, outermost first (inner exceptions follow their parent).</summary>
    public IReadOnlyList<ExceptionRecord> Exceptions { get; init; } = [];
    public RequestRecord? Request { get; init; }
    public UserRecord? User { get; init; }
    public IReadOnlyDictionary<string, string> Tags { get; init; } = EmptyTags;
    public NameVersion? Runtime { get; init; }
    public NameVersion? Os { get; init; }
    public NameVersion? Sdk { get; init; }

    /// <summary>Values shown with the event but not searched by; null when the SDK sent none.</summary>
    public IReadOnlyDictionary<string, string>? Extra { get; init; }

    /// <summary>What happened before the event, oldest first; null when the SDK sent none.</summary>
    public IReadOnlyList<BreadcrumbRecord>? Breadcrumbs { get; init; }

    private static readonly IReadOnlyDictionary<string, string> EmptyTags = new Dictionary<string, string>();
}

/// <summary>One exception of the chain.</summary>
public sealed record ExceptionRecord(string Type, string Value, string? Module, IReadOnlyList<FrameRecord> Frames);

/// <summary>One stack frame, in .NET order: the frame that threw comes first.</summary>
public sealed record FrameRecord(
    string Function,
    string? Type,
    string? Module,
    string? File,
    int? Line,
    int? Column,
    bool InApp);

public sealed record RequestRecord(
    string? Method,
    string? Url,
    string? QueryString,
    IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>Form fields the app had read, as the SDK sent them (sensitive ones already filtered); null when none.</summary>
    public IReadOnlyDictionary<string, string>? Form { get; init; }
}

/// <summary>Something that happened before the event (a log entry of the request), in the order the SDK sent it.</summary>
public sealed record BreadcrumbRecord(DateTimeOffset? Timestamp, string Level, string? Category, string Message);

public sealed record UserRecord(string? Id, string? Username, string? Email, string? IpAddress)
{
    /// <summary>Stable key for counting affected users: id, else email, else username, else IP.</summary>
    public string? Key => Id ?? Email ?? Username ?? IpAddress;
}

public sealed record NameVersion(string? Name, string? Version);
