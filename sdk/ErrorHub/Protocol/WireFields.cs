namespace ErrorHub.Protocol;

/// <summary>
/// Field names of the wire schema (docs/protocol.md). Shared by the SDK's writer and the server's
/// decoder so the two cannot drift apart; changing one is a protocol change.
/// </summary>
internal static class WireFields
{
    public const int ProtocolVersion = 1;

    // Batch envelope
    public const string Version = "v";
    public const string Sdk = "sdk";
    public const string Events = "events";
    public const string Dropped = "dropped";

    // Event
    public const string EventId = "event_id";
    public const string Timestamp = "timestamp";
    public const string Level = "level";
    public const string Platform = "platform";
    public const string Message = "message";
    public const string Logger = "logger";
    public const string Release = "release";
    public const string Environment = "environment";
    public const string ServerName = "server_name";
    public const string Fingerprint = "fingerprint";
    public const string Exceptions = "exceptions";
    public const string Request = "request";
    public const string User = "user";
    public const string Tags = "tags";
    public const string Runtime = "runtime";
    public const string Os = "os";
    public const string Extra = "extra";
    public const string Breadcrumbs = "breadcrumbs";

    // Breadcrumb (also: timestamp, level, message)
    public const string Category = "category";

    // Exception
    public const string Type = "type";
    public const string Value = "value";
    public const string Module = "module";
    public const string Frames = "frames";

    // Frame
    public const string Function = "function";
    public const string File = "file";
    public const string Line = "line";
    public const string Column = "column";
    public const string InApp = "in_app";
    public const string Wrapper = "wrapper";

    /// <summary>The frame's assembly is a NuGet package's: not the app's code since grouping version 9, though <see cref="InApp"/> says so.</summary>
    public const string Package = "package";

    // Request
    public const string Method = "method";
    public const string Url = "url";
    public const string QueryString = "query_string";
    public const string Headers = "headers";
    public const string Form = "form";

    // User
    public const string Id = "id";
    public const string Username = "username";
    public const string Email = "email";
    public const string IpAddress = "ip_address";

    // Name and version (sdk, runtime, os)
    public const string Name = "name";
    public const string NameVersion = "version";
}
