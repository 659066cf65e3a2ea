using System.Buffers;
using ErrorHub.Internal;
using ErrorHub.Protocol;
using MessagePack;

namespace ErrorHub.Transport;

/// <summary>
/// Writes a batch of events in the wire schema of docs/protocol.md with MessagePack-CSharp's writer. Null and
/// empty fields are left out. The writer picks the smallest encoding of every value (str8 included: OldSpec
/// stays off), which is what the wire snapshot test freezes. Helpers take the writer by <c>ref</c>: a copy
/// would buffer its own bytes, and the original would overwrite them.
/// </summary>
internal static class EventWireWriter
{
    private static readonly NameAndVersion ThisSdk = new(EnvironmentInfo.SdkName, EnvironmentInfo.SdkVersion);

    public static void WriteBatch(IBufferWriter<byte> output, IReadOnlyList<ErrorHubEvent> events, NameAndVersion? sdk = null)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteMapHeader(3);
        writer.Write(WireFields.Version);
        writer.Write(WireFields.ProtocolVersion);
        writer.Write(WireFields.Sdk);
        WriteNameVersion(ref writer, sdk ?? ThisSdk);
        writer.Write(WireFields.Events);
        writer.WriteArrayHeader(events.Count);
        foreach (var errorEvent in events)
        {
            WriteEvent(ref writer, errorEvent);
        }

        writer.Flush();
    }

    /// <summary>One event on its own, as it appears inside a batch's <c>events</c> array.</summary>
    public static void WriteEvent(IBufferWriter<byte> output, ErrorHubEvent errorEvent)
    {
        var writer = new MessagePackWriter(output);
        WriteEvent(ref writer, errorEvent);
        writer.Flush();
    }

    /// <summary>
    /// A batch of events written earlier by <see cref="WriteEvent(IBufferWriter{byte}, ErrorHubEvent)"/>, with the
    /// counts of events the SDK dropped since its last report (reason name to count; left out when empty).
    /// </summary>
    public static void WriteBatch(
        IBufferWriter<byte> output, IReadOnlyList<byte[]> encodedEvents, IReadOnlyList<KeyValuePair<string, long>>? dropped = null, NameAndVersion? sdk = null)
    {
        var writer = new MessagePackWriter(output);
        var hasDrops = dropped is { Count: > 0 };
        writer.WriteMapHeader(hasDrops ? 4 : 3);
        writer.Write(WireFields.Version);
        writer.Write(WireFields.ProtocolVersion);
        writer.Write(WireFields.Sdk);
        WriteNameVersion(ref writer, sdk ?? ThisSdk);
        if (hasDrops)
        {
            writer.Write(WireFields.Dropped);
            writer.WriteMapHeader(dropped!.Count);
            foreach (var (reason, count) in dropped)
            {
                writer.Write(reason);
                writer.Write(count);
            }
        }

        writer.Write(WireFields.Events);
        writer.WriteArrayHeader(encodedEvents.Count);
        foreach (var encoded in encodedEvents)
        {
            writer.WriteRaw(encoded);
        }

        writer.Flush();
    }

    private static void WriteEvent(ref MessagePackWriter writer, ErrorHubEvent e)
    {
        var count = 4 // event_id, timestamp, level, platform
            + Present(e.Message) + Present(e.Logger) + Present(e.Release) + Present(e.Environment) + Present(e.ServerName)
            + (e.Fingerprint is { Count: > 0 } ? 1 : 0)
            + (e.Exceptions.Count > 0 ? 1 : 0)
            + (e.Request is null ? 0 : 1)
            + (e.User is null ? 0 : 1)
            + (e.Tags.Count > 0 ? 1 : 0)
            + (e.Extra.Count > 0 ? 1 : 0)
            + (e.Breadcrumbs.Count > 0 ? 1 : 0)
            + (e.Runtime is null ? 0 : 1)
            + (e.OperatingSystem is null ? 0 : 1);
        writer.WriteMapHeader(count);

        writer.Write(WireFields.EventId);
        writer.Write(e.EventId.ToString("N"));
        writer.Write(WireFields.Timestamp);
        writer.Write(e.Timestamp.UtcDateTime);
        writer.Write(WireFields.Level);
        writer.Write(LevelName(e.Level));
        writer.Write(WireFields.Platform);
        writer.Write("csharp");
        WriteOptional(ref writer, WireFields.Message, e.Message);
        WriteOptional(ref writer, WireFields.Logger, e.Logger);
        WriteOptional(ref writer, WireFields.Release, e.Release);
        WriteOptional(ref writer, WireFields.Environment, e.Environment);
        WriteOptional(ref writer, WireFields.ServerName, e.ServerName);

        if (e.Fingerprint is { Count: > 0 } fingerprint)
        {
            writer.Write(WireFields.Fingerprint);
            writer.WriteArrayHeader(fingerprint.Count);
            foreach (var part in fingerprint)
            {
                writer.Write(part ?? "");
            }
        }

        if (e.Exceptions.Count > 0)
        {
            writer.Write(WireFields.Exceptions);
            writer.WriteArrayHeader(e.Exceptions.Count);
            foreach (var exception in e.Exceptions)
            {
                WriteException(ref writer, exception);
            }
        }

        if (e.Request is { } request)
        {
            writer.Write(WireFields.Request);
            writer.WriteMapHeader(Present(request.Method) + Present(request.Url) + Present(request.QueryString) + 1 + (request.Form.Count > 0 ? 1 : 0));
            WriteOptional(ref writer, WireFields.Method, request.Method);
            WriteOptional(ref writer, WireFields.Url, request.Url);
            WriteOptional(ref writer, WireFields.QueryString, request.QueryString);
            writer.Write(WireFields.Headers);
            WriteStringMap(ref writer, request.Headers);
            if (request.Form.Count > 0)
            {
                writer.Write(WireFields.Form);
                WriteStringMap(ref writer, request.Form);
            }
        }

        if (e.User is { } user)
        {
            writer.Write(WireFields.User);
            writer.WriteMapHeader(Present(user.Id) + Present(user.Username) + Present(user.Email) + Present(user.IpAddress));
            WriteOptional(ref writer, WireFields.Id, user.Id);
            WriteOptional(ref writer, WireFields.Username, user.Username);
            WriteOptional(ref writer, WireFields.Email, user.Email);
            WriteOptional(ref writer, WireFields.IpAddress, user.IpAddress);
        }

        if (e.Tags.Count > 0)
        {
            writer.Write(WireFields.Tags);
            WriteStringMap(ref writer, e.Tags);
        }

        if (e.Extra.Count > 0)
        {
            writer.Write(WireFields.Extra);
            WriteStringMap(ref writer, e.Extra);
        }

        if (e.Breadcrumbs.Count > 0)
        {
            writer.Write(WireFields.Breadcrumbs);
            writer.WriteArrayHeader(e.Breadcrumbs.Count);
            foreach (var crumb in e.Breadcrumbs)
            {
                writer.WriteMapHeader(3 + Present(crumb.Category));
                writer.Write(WireFields.Timestamp);
                writer.Write(crumb.Timestamp.UtcDateTime);
                writer.Write(WireFields.Level);
                writer.Write(LevelName(crumb.Level));
                WriteOptional(ref writer, WireFields.Category, crumb.Category);
                writer.Write(WireFields.Message);
                writer.Write(crumb.Message);
            }
        }

        if (e.Runtime is { } runtime)
        {
            writer.Write(WireFields.Runtime);
            WriteNameVersion(ref writer, runtime);
        }

        if (e.OperatingSystem is { } os)
        {
            writer.Write(WireFields.Os);
            WriteNameVersion(ref writer, os);
        }
    }

    private static void WriteException(ref MessagePackWriter writer, ExceptionEntry exception)
    {
        writer.WriteMapHeader(3 + Present(exception.Module));
        writer.Write(WireFields.Type);
        writer.Write(exception.Type);
        writer.Write(WireFields.Value);
        writer.Write(exception.Value);
        WriteOptional(ref writer, WireFields.Module, exception.Module);
        writer.Write(WireFields.Frames);
        writer.WriteArrayHeader(exception.Frames.Count);
        foreach (var frame in exception.Frames)
        {
            writer.WriteMapHeader(2 + Present(frame.Type) + Present(frame.Module) + Present(frame.File)
                + (frame.Line is null ? 0 : 1) + (frame.Column is null ? 0 : 1) + (frame.Wrapper ? 1 : 0));
            writer.Write(WireFields.Function);
            writer.Write(frame.Function);
            WriteOptional(ref writer, WireFields.Type, frame.Type);
            WriteOptional(ref writer, WireFields.Module, frame.Module);
            WriteOptional(ref writer, WireFields.File, frame.File);
            if (frame.Line is { } line)
            {
                writer.Write(WireFields.Line);
                writer.Write(line);
            }

            if (frame.Column is { } column)
            {
                writer.Write(WireFields.Column);
                writer.Write(column);
            }

            writer.Write(WireFields.InApp);
            writer.Write(frame.InApp);
            if (frame.Wrapper)
            {
                writer.Write(WireFields.Wrapper);
                writer.Write(true);
            }
        }
    }

    private static void WriteStringMap(ref MessagePackWriter writer, IDictionary<string, string> map)
    {
        writer.WriteMapHeader(map.Count);
        foreach (var (key, value) in map)
        {
            writer.Write(key);
            writer.Write(value ?? "");
        }
    }

    private static void WriteNameVersion(ref MessagePackWriter writer, NameAndVersion value)
    {
        writer.WriteMapHeader(Present(value.Name) + Present(value.Version));
        WriteOptional(ref writer, WireFields.Name, value.Name);
        WriteOptional(ref writer, WireFields.NameVersion, value.Version);
    }

    private static void WriteOptional(ref MessagePackWriter writer, string key, string? value)
    {
        if (value is not null)
        {
            writer.Write(key);
            writer.Write(value);
        }
    }

    private static int Present(string? value) => value is null ? 0 : 1;

    internal static string LevelName(ErrorHubLevel level) => level switch
    {
        ErrorHubLevel.Debug => "debug",
        ErrorHubLevel.Info => "info",
        ErrorHubLevel.Warning => "warning",
        ErrorHubLevel.Fatal => "fatal",
        _ => "error",
    };
}
