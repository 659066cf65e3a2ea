using ClickHouse.Driver;
using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// One row of the events table (see <see cref="ClickHouseSchema"/>). Each property is a column, named
/// and typed for the driver, and computed only when the driver encodes the row, so a batch holds no
/// second copy of its events (the payload alone is a few KB per event). Missing strings are empty
/// strings in the columns; the payload keeps them null.
/// </summary>
internal sealed class ClickHouseEventRow(ErrorEvent e)
{
    private static readonly DateTimeOffset LastDateTime = DateTimeOffset.FromUnixTimeSeconds(uint.MaxValue);

    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)e.ProjectId);
    [ClickHouseColumn(Name = "timestamp", Type = "DateTime('UTC')")] public DateTimeOffset Timestamp => ClampToDateTime(e.Timestamp);
    [ClickHouseColumn(Name = "received_at", Type = "DateTime('UTC')")] public DateTimeOffset ReceivedAt => ClampToDateTime(e.ReceivedAt);
    [ClickHouseColumn(Name = "event_id", Type = "UUID")] public Guid EventId => e.EventId;
    [ClickHouseColumn(Name = "fingerprint", Type = "String")] public string Fingerprint => e.Fingerprint;
    [ClickHouseColumn(Name = "grouping_version", Type = "UInt16")] public ushort GroupingVersion => (ushort)Math.Clamp(e.GroupingVersion, 0, ushort.MaxValue);
    [ClickHouseColumn(Name = "level", Type = "String")] public string Level => e.Level;
    [ClickHouseColumn(Name = "title", Type = "String")] public string Title => e.Title;
    [ClickHouseColumn(Name = "culprit", Type = "String")] public string Culprit => e.Culprit;
    [ClickHouseColumn(Name = "message", Type = "String")] public string Message => e.Message ?? "";
    [ClickHouseColumn(Name = "logger", Type = "String")] public string Logger => e.Logger ?? "";
    [ClickHouseColumn(Name = "platform", Type = "String")] public string Platform => e.Platform ?? "";
    [ClickHouseColumn(Name = "release", Type = "String")] public string Release => e.Release ?? "";
    [ClickHouseColumn(Name = "environment", Type = "String")] public string Environment => e.Environment ?? "";
    [ClickHouseColumn(Name = "server_name", Type = "String")] public string ServerName => e.ServerName ?? "";
    // Nested columns are written as parallel arrays of equal length.
    [ClickHouseColumn(Name = "exceptions.type", Type = "Array(String)")] public string[] ExceptionTypes => Exceptions(x => x.Type);
    [ClickHouseColumn(Name = "exceptions.value", Type = "Array(String)")] public string[] ExceptionValues => Exceptions(x => x.Value);
    [ClickHouseColumn(Name = "exceptions.module", Type = "Array(String)")] public string[] ExceptionModules => Exceptions(x => x.Module ?? "");
    // Kept in the schema and the insert, written empty: nothing reads them, and the payload holds every frame (docs/storage.md).
    // Instance properties like every other column of the row the driver writes (CA1822 would make them static).
#pragma warning disable CA1822
    [ClickHouseColumn(Name = "frames.exception_index", Type = "Array(UInt16)")] public ushort[] FrameExceptionIndexes => [];
    [ClickHouseColumn(Name = "frames.function", Type = "Array(String)")] public string[] FrameFunctions => [];
    [ClickHouseColumn(Name = "frames.type", Type = "Array(String)")] public string[] FrameTypes => [];
    [ClickHouseColumn(Name = "frames.module", Type = "Array(String)")] public string[] FrameModules => [];
    [ClickHouseColumn(Name = "frames.file", Type = "Array(String)")] public string[] FrameFiles => [];
    [ClickHouseColumn(Name = "frames.line_number", Type = "Array(UInt32)")] public uint[] FrameLines => [];
    [ClickHouseColumn(Name = "frames.column_number", Type = "Array(UInt32)")] public uint[] FrameColumns => [];
    [ClickHouseColumn(Name = "frames.in_app", Type = "Array(UInt8)")] public byte[] FrameInApp => [];
#pragma warning restore CA1822
    [ClickHouseColumn(Name = "user_id", Type = "String")] public string UserId => e.User?.Id ?? "";
    [ClickHouseColumn(Name = "user_email", Type = "String")] public string UserEmail => e.User?.Email ?? "";
    [ClickHouseColumn(Name = "user_username", Type = "String")] public string UserUsername => e.User?.Username ?? "";
    [ClickHouseColumn(Name = "user_ip", Type = "String")] public string UserIp => e.User?.IpAddress ?? "";
    [ClickHouseColumn(Name = "user_hash", Type = "UInt64")] public ulong UserHashValue => UserHash.Of(e.User?.Key);
    [ClickHouseColumn(Name = "http_method", Type = "String")] public string HttpMethod => e.Request?.Method ?? "";
    [ClickHouseColumn(Name = "url", Type = "String")] public string Url => e.Request?.Url ?? "";
    [ClickHouseColumn(Name = "tags.key", Type = "Array(String)")] public string[] TagKeys => e.Tags.Keys.ToArray();
    [ClickHouseColumn(Name = "tags.value", Type = "Array(String)")] public string[] TagValues => e.Tags.Values.ToArray();
    [ClickHouseColumn(Name = "payload", Type = "String")] public byte[] Payload => ClickHousePayload.Encode(e);
    [ClickHouseColumn(Name = "grouping", Type = "String")] public string Grouping => EventPayloadJson.SerializeGrouping(e);

    /// <summary>DateTime holds 1970 to 2106: earlier times are stored as the epoch, later ones as its last second (the driver would refuse the row).</summary>
    internal static DateTimeOffset ClampToDateTime(DateTimeOffset value) =>
        value < DateTimeOffset.UnixEpoch ? DateTimeOffset.UnixEpoch : value > LastDateTime ? LastDateTime : value;

    private T[] Exceptions<T>(Func<ExceptionRecord, T> select) => e.Exceptions.Select(select).ToArray();
}

/// <summary>One row of the projects table; <c>version</c> orders the rows of one id (the latest wins).</summary>
internal sealed class ClickHouseProjectRow(Project project, ulong version, ProjectSettings? settings = null, DateTimeOffset? deletedAt = null)
{
    [ClickHouseColumn(Name = "id", Type = "UInt32")] public uint Id => checked((uint)project.Id);
    [ClickHouseColumn(Name = "name", Type = "String")] public string Name => project.Name;
    [ClickHouseColumn(Name = "public_key", Type = "String")] public string PublicKey => project.PublicKey;
    [ClickHouseColumn(Name = "created_at", Type = "DateTime('UTC')")] public DateTimeOffset CreatedAt => ClickHouseEventRow.ClampToDateTime(project.CreatedAt);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
    [ClickHouseColumn(Name = "deleted", Type = "UInt8")] public byte Deleted => deletedAt is null ? (byte)0 : (byte)1;
    [ClickHouseColumn(Name = "deleted_at", Type = "DateTime('UTC')")] public DateTimeOffset DeletedAt => ClickHouseTimes.Write(deletedAt);
    [ClickHouseColumn(Name = "rate_limit_per_minute", Type = "UInt32")] public uint RateLimitPerMinute => (uint)Math.Max(settings?.RateLimitPerMinute ?? 0, 0);
    [ClickHouseColumn(Name = "retention_days", Type = "UInt32")] public uint RetentionDays => (uint)Math.Max(settings?.RetentionDays ?? 0, 0);
}
