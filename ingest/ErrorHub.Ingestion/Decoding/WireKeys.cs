using ErrorHub.Protocol;

namespace ErrorHub.Ingestion.Decoding;

/// <summary>
/// The protocol's field names, recognised from their UTF-8 bytes. A map key is one of a few dozen names, so it is
/// compared as bytes (a switch on the length, then comparisons the JIT turns into a word or two) and answered with the
/// <see cref="WireFields"/> constant itself: no hashing, no decoding, no string made.
/// </summary>
internal static class WireKeys
{
    /// <summary>The <see cref="WireFields"/> constant spelled by <paramref name="key"/>, or null for any other name.</summary>
    public static string? Known(ReadOnlySpan<byte> key) => key.Length switch
    {
        1 => key.SequenceEqual("v"u8) ? WireFields.Version : null,
        2 => key.SequenceEqual("os"u8) ? WireFields.Os : key.SequenceEqual("id"u8) ? WireFields.Id : null,
        3 => key.SequenceEqual("sdk"u8) ? WireFields.Sdk : key.SequenceEqual("url"u8) ? WireFields.Url : null,
        4 => key.SequenceEqual("user"u8) ? WireFields.User
            : key.SequenceEqual("tags"u8) ? WireFields.Tags
            : key.SequenceEqual("type"u8) ? WireFields.Type
            : key.SequenceEqual("file"u8) ? WireFields.File
            : key.SequenceEqual("line"u8) ? WireFields.Line
            : key.SequenceEqual("form"u8) ? WireFields.Form
            : key.SequenceEqual("name"u8) ? WireFields.Name
            : null,
        5 => key.SequenceEqual("level"u8) ? WireFields.Level
            : key.SequenceEqual("extra"u8) ? WireFields.Extra
            : key.SequenceEqual("value"u8) ? WireFields.Value
            : key.SequenceEqual("email"u8) ? WireFields.Email
            : null,
        6 => key.SequenceEqual("events"u8) ? WireFields.Events
            : key.SequenceEqual("logger"u8) ? WireFields.Logger
            : key.SequenceEqual("module"u8) ? WireFields.Module
            : key.SequenceEqual("frames"u8) ? WireFields.Frames
            : key.SequenceEqual("column"u8) ? WireFields.Column
            : key.SequenceEqual("in_app"u8) ? WireFields.InApp
            : key.SequenceEqual("method"u8) ? WireFields.Method
            : null,
        7 => key.SequenceEqual("dropped"u8) ? WireFields.Dropped
            : key.SequenceEqual("message"u8) ? WireFields.Message
            : key.SequenceEqual("release"u8) ? WireFields.Release
            : key.SequenceEqual("request"u8) ? WireFields.Request
            : key.SequenceEqual("runtime"u8) ? WireFields.Runtime
            : key.SequenceEqual("wrapper"u8) ? WireFields.Wrapper
            : key.SequenceEqual("headers"u8) ? WireFields.Headers
            : key.SequenceEqual("version"u8) ? WireFields.NameVersion
            : null,
        8 => key.SequenceEqual("event_id"u8) ? WireFields.EventId
            : key.SequenceEqual("platform"u8) ? WireFields.Platform
            : key.SequenceEqual("category"u8) ? WireFields.Category
            : key.SequenceEqual("function"u8) ? WireFields.Function
            : key.SequenceEqual("username"u8) ? WireFields.Username
            : null,
        9 => key.SequenceEqual("timestamp"u8) ? WireFields.Timestamp : null,
        10 => key.SequenceEqual("exceptions"u8) ? WireFields.Exceptions
            : key.SequenceEqual("ip_address"u8) ? WireFields.IpAddress
            : null,
        11 => key.SequenceEqual("environment"u8) ? WireFields.Environment
            : key.SequenceEqual("server_name"u8) ? WireFields.ServerName
            : key.SequenceEqual("fingerprint"u8) ? WireFields.Fingerprint
            : key.SequenceEqual("breadcrumbs"u8) ? WireFields.Breadcrumbs
            : null,
        12 => key.SequenceEqual("query_string"u8) ? WireFields.QueryString : null,
        _ => null,
    };
}
