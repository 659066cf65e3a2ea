using ErrorHub.Protocol;

namespace ErrorHub.Ingestion.Decoding;

/// <summary>A field name of the protocol (<see cref="WireFields"/>), as the decoder switches on it.</summary>
internal enum WireKey : byte
{
    /// <summary>Any name that is not one of the protocol's.</summary>
    Unknown = 0,
    Version, Sdk, Events, Dropped,
    EventId, Timestamp, Level, Platform, Message, Logger, Release, Environment, ServerName, Fingerprint,
    Exceptions, Request, User, Tags, Runtime, Os, Extra, Breadcrumbs, Category,
    Type, Value, Module, Frames,
    Function, File, Line, Column, InApp, Wrapper, Package,
    Method, Url, QueryString, Headers, Form,
    Id, Username, Email, IpAddress,
    Name, NameVersion,
}

/// <summary>
/// The protocol's field names, recognised from their UTF-8 bytes. A map key is one of a few dozen names, so it is
/// compared as bytes (a switch on the length, then comparisons the JIT turns into a word or two, the names of frames,
/// which come most often, first) and answered as a <see cref="WireKey"/>: no hashing, no decoding, no string made, and
/// the decoder's switch is on a small number rather than on a string (which C# compiles to a hash of the string's
/// characters and a string comparison for every key).
/// </summary>
internal static class WireKeys
{
    private static readonly string[] Names = MakeNames();

    /// <summary>The <see cref="WireFields"/> constant spelled by <paramref name="key"/>, or null for any other name.</summary>
    public static string? Known(ReadOnlySpan<byte> key) => Find(key) is var found and not WireKey.Unknown ? Name(found) : null;

    /// <summary>The <see cref="WireFields"/> constant of a known key (the field's name in error messages).</summary>
    public static string Name(WireKey key) => Names[(int)key];

    public static WireKey Find(ReadOnlySpan<byte> key) => key.Length switch
    {
        1 => key.SequenceEqual("v"u8) ? WireKey.Version : WireKey.Unknown,
        2 => key.SequenceEqual("os"u8) ? WireKey.Os : key.SequenceEqual("id"u8) ? WireKey.Id : WireKey.Unknown,
        3 => key.SequenceEqual("sdk"u8) ? WireKey.Sdk : key.SequenceEqual("url"u8) ? WireKey.Url : WireKey.Unknown,
        4 => key.SequenceEqual("type"u8) ? WireKey.Type
            : key.SequenceEqual("file"u8) ? WireKey.File
            : key.SequenceEqual("line"u8) ? WireKey.Line
            : key.SequenceEqual("name"u8) ? WireKey.Name
            : key.SequenceEqual("user"u8) ? WireKey.User
            : key.SequenceEqual("tags"u8) ? WireKey.Tags
            : key.SequenceEqual("form"u8) ? WireKey.Form
            : WireKey.Unknown,
        5 => key.SequenceEqual("value"u8) ? WireKey.Value
            : key.SequenceEqual("level"u8) ? WireKey.Level
            : key.SequenceEqual("extra"u8) ? WireKey.Extra
            : key.SequenceEqual("email"u8) ? WireKey.Email
            : WireKey.Unknown,
        6 => key.SequenceEqual("module"u8) ? WireKey.Module
            : key.SequenceEqual("column"u8) ? WireKey.Column
            : key.SequenceEqual("in_app"u8) ? WireKey.InApp
            : key.SequenceEqual("frames"u8) ? WireKey.Frames
            : key.SequenceEqual("method"u8) ? WireKey.Method
            : key.SequenceEqual("events"u8) ? WireKey.Events
            : key.SequenceEqual("logger"u8) ? WireKey.Logger
            : WireKey.Unknown,
        7 => key.SequenceEqual("wrapper"u8) ? WireKey.Wrapper
            : key.SequenceEqual("package"u8) ? WireKey.Package
            : key.SequenceEqual("version"u8) ? WireKey.NameVersion
            : key.SequenceEqual("message"u8) ? WireKey.Message
            : key.SequenceEqual("release"u8) ? WireKey.Release
            : key.SequenceEqual("request"u8) ? WireKey.Request
            : key.SequenceEqual("runtime"u8) ? WireKey.Runtime
            : key.SequenceEqual("headers"u8) ? WireKey.Headers
            : key.SequenceEqual("dropped"u8) ? WireKey.Dropped
            : WireKey.Unknown,
        8 => key.SequenceEqual("function"u8) ? WireKey.Function
            : key.SequenceEqual("event_id"u8) ? WireKey.EventId
            : key.SequenceEqual("platform"u8) ? WireKey.Platform
            : key.SequenceEqual("category"u8) ? WireKey.Category
            : key.SequenceEqual("username"u8) ? WireKey.Username
            : WireKey.Unknown,
        9 => key.SequenceEqual("timestamp"u8) ? WireKey.Timestamp : WireKey.Unknown,
        10 => key.SequenceEqual("exceptions"u8) ? WireKey.Exceptions
            : key.SequenceEqual("ip_address"u8) ? WireKey.IpAddress
            : WireKey.Unknown,
        11 => key.SequenceEqual("environment"u8) ? WireKey.Environment
            : key.SequenceEqual("server_name"u8) ? WireKey.ServerName
            : key.SequenceEqual("fingerprint"u8) ? WireKey.Fingerprint
            : key.SequenceEqual("breadcrumbs"u8) ? WireKey.Breadcrumbs
            : WireKey.Unknown,
        12 => key.SequenceEqual("query_string"u8) ? WireKey.QueryString : WireKey.Unknown,
        _ => WireKey.Unknown,
    };

    private static string[] MakeNames()
    {
        var names = new string[(int)WireKey.NameVersion + 1];
        names[(int)WireKey.Unknown] = "";
        names[(int)WireKey.Version] = WireFields.Version;
        names[(int)WireKey.Sdk] = WireFields.Sdk;
        names[(int)WireKey.Events] = WireFields.Events;
        names[(int)WireKey.Dropped] = WireFields.Dropped;
        names[(int)WireKey.EventId] = WireFields.EventId;
        names[(int)WireKey.Timestamp] = WireFields.Timestamp;
        names[(int)WireKey.Level] = WireFields.Level;
        names[(int)WireKey.Platform] = WireFields.Platform;
        names[(int)WireKey.Message] = WireFields.Message;
        names[(int)WireKey.Logger] = WireFields.Logger;
        names[(int)WireKey.Release] = WireFields.Release;
        names[(int)WireKey.Environment] = WireFields.Environment;
        names[(int)WireKey.ServerName] = WireFields.ServerName;
        names[(int)WireKey.Fingerprint] = WireFields.Fingerprint;
        names[(int)WireKey.Exceptions] = WireFields.Exceptions;
        names[(int)WireKey.Request] = WireFields.Request;
        names[(int)WireKey.User] = WireFields.User;
        names[(int)WireKey.Tags] = WireFields.Tags;
        names[(int)WireKey.Runtime] = WireFields.Runtime;
        names[(int)WireKey.Os] = WireFields.Os;
        names[(int)WireKey.Extra] = WireFields.Extra;
        names[(int)WireKey.Breadcrumbs] = WireFields.Breadcrumbs;
        names[(int)WireKey.Category] = WireFields.Category;
        names[(int)WireKey.Type] = WireFields.Type;
        names[(int)WireKey.Value] = WireFields.Value;
        names[(int)WireKey.Module] = WireFields.Module;
        names[(int)WireKey.Frames] = WireFields.Frames;
        names[(int)WireKey.Function] = WireFields.Function;
        names[(int)WireKey.File] = WireFields.File;
        names[(int)WireKey.Line] = WireFields.Line;
        names[(int)WireKey.Column] = WireFields.Column;
        names[(int)WireKey.InApp] = WireFields.InApp;
        names[(int)WireKey.Wrapper] = WireFields.Wrapper;
        names[(int)WireKey.Package] = WireFields.Package;
        names[(int)WireKey.Method] = WireFields.Method;
        names[(int)WireKey.Url] = WireFields.Url;
        names[(int)WireKey.QueryString] = WireFields.QueryString;
        names[(int)WireKey.Headers] = WireFields.Headers;
        names[(int)WireKey.Form] = WireFields.Form;
        names[(int)WireKey.Id] = WireFields.Id;
        names[(int)WireKey.Username] = WireFields.Username;
        names[(int)WireKey.Email] = WireFields.Email;
        names[(int)WireKey.IpAddress] = WireFields.IpAddress;
        names[(int)WireKey.Name] = WireFields.Name;
        names[(int)WireKey.NameVersion] = WireFields.NameVersion;
        return names;
    }
}
