using System.Text.Json.Serialization;

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

    /// <summary>
    /// The issue the event belongs to: events with equal fingerprints are one issue. Grouping sets it; a
    /// store files the event under <see cref="LegacyFingerprint"/> instead when that issue already exists.
    /// </summary>
    public required string Fingerprint { get; init; }
    public required int GroupingVersion { get; init; }

    /// <summary>
    /// The fingerprint the previous grouping version gives this event, when it differs from
    /// <see cref="Fingerprint"/>: issues made before a grouping change keep receiving their events
    /// (docs/grouping.md).
    /// </summary>
    public string? LegacyFingerprint { get; init; }

    /// <summary>
    /// Older grouping versions' fingerprints of this event (version 1's last), tried after
    /// <see cref="LegacyFingerprint"/> when no issue has it: an issue keeps the fingerprint it was made
    /// with through every later version, so one made two versions ago is found only by that version's.
    /// Only the write needs them; they are not kept in the payload.
    /// </summary>
    [JsonIgnore]
    public IReadOnlyList<string>? EarlierLegacyFingerprints { get; init; }

    /// <summary>The fingerprints an existing issue may have been made with, in the order they are tried.</summary>
    internal IEnumerable<string> LegacyCandidates()
    {
        if (LegacyFingerprint is { } legacy && legacy != Fingerprint)
        {
            yield return legacy;
        }

        foreach (var earlier in EarlierLegacyFingerprints ?? [])
        {
            if (earlier != Fingerprint && earlier != LegacyFingerprint)
            {
                yield return earlier;
            }
        }
    }

    /// <summary>
    /// What grouping made the fingerprint of, and what it looked at but did not count: why the event is
    /// in its issue. Empty for events stored before grouping version 2 (their payloads lack it).
    /// </summary>
    public IReadOnlyList<GroupingComponent> GroupingComponents { get; init => field = value ?? []; } = [];

    /// <summary>"fatal", "error", "warning", "info" or "debug".</summary>
    public string Level { get; init; } = "error";

    /// <summary>Issue title: "Type: message" of the root cause, or the message.</summary>
    public required string Title { get; init; }

    /// <summary>The exception the root cause came wrapped in ("DbUpdateException"), shown beside the title; null when the root cause was thrown as it is.</summary>
    public string? TitleWrapper { get; init; }

    /// <summary>Where it happened: the root cause's first app frame ("Namespace.Type.Method"), else its throw site, or empty.</summary>
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

/// <summary>
/// One part of what an event was grouped by. <see cref="Counts"/> parts make the fingerprint; the
/// others were looked at and deliberately left out (a wrapper, a framework guard), so the dashboard
/// can say why two events are one issue.
/// </summary>
/// <param name="Kind">What the part is: one of the constants below.</param>
/// <param name="Value">As hashed: "SqliteException", "Shop.Orders.OrderService.PlaceAsync", ...</param>
public sealed record GroupingComponent(string Kind, string Value, bool Counts = true)
{
    /// <summary>The root cause's exception type.</summary>
    public const string Type = "type";

    /// <summary>The framework component that threw (the app's own throw site is an <see cref="AppFrame"/>).</summary>
    public const string ThrowSite = "throw";

    /// <summary>The first frame of the app's own code, nearest the throw.</summary>
    public const string AppFrame = "app";

    /// <summary>
    /// The request's endpoint (its route with the method, else its display name) when the app frame is a lambda or local function
    /// of the entry point, as a minimal API's handlers are (grouping version 9): the frame's name is the same for every handler.
    /// </summary>
    public const string Endpoint = "endpoint";

    /// <summary>The .NET names the message quotes: only when no frame of the app's code says where the failure is.</summary>
    public const string Subject = "subject";

    /// <summary>The HTTP status an HTTP client's exception reports ("404", "5xx"), beside its frames (grouping version 5).</summary>
    public const string Status = "status";

    /// <summary>The HRESULT a COM error's message reports, beside its app frame (grouping version 17).</summary>
    public const string ErrorCode = "hresult";

    /// <summary>The parameterized message: only when no frame says where the failure is.</summary>
    public const string Message = "message";

    /// <summary>The logger of an event without an exception.</summary>
    public const string Logger = "logger";

    /// <summary>A part of the fingerprint the SDK set.</summary>
    public const string Client = "client";

    /// <summary>An exception the root cause came wrapped in: never counted.</summary>
    public const string Wrapper = "wrapper";

    /// <summary>A general-purpose framework guard that refused what the app gave it: never counted, the app frame is.</summary>
    public const string Guard = "guard";
}

/// <summary>One exception of the chain.</summary>
public sealed record ExceptionRecord(string Type, string Value, string? Module, IReadOnlyList<FrameRecord> Frames);

/// <summary>One stack frame, in .NET order: the frame that threw comes first.</summary>
/// <remarks>
/// <c>InApp</c>: the app's own code, as the client marked it, less wrappers and NuGet packages' frames. <c>Package</c>: the client
/// marked the frame in-app by its namespace, but its assembly is a NuGet package's: not the app's code since grouping version 9,
/// in-app for the versions before it (which the client's mark alone decided). Grouping reads it at ingest; it is kept in the
/// event's payload, so the API's event answer carries it.
/// </remarks>
public sealed record FrameRecord(
    string Function,
    string? Type,
    string? Module,
    string? File,
    int? Line,
    int? Column,
    bool InApp,
    bool Package = false);

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
