using System.Globalization;
using System.Text;
using ErrorHub.Ingestion.Quotas;
using ErrorHub.Protocol;
using ErrorHub.Storage.Events;
using MessagePack;

namespace ErrorHub.Ingestion.Decoding;

/// <summary>
/// The pipeline's first step. Decodes a batch (docs/protocol.md) from untrusted bytes: every type is
/// checked, unknown fields are skipped, values are truncated to <see cref="IngestLimits"/>, and the first
/// problem is reported as a <see cref="BatchFormatException"/> naming the field, e.g.
/// <c>events[2].timestamp</c>. What the values mean to the server (defaults, levels, times) is decided
/// by the next step, <see cref="Normalizing.EventNormalizer"/>.
/// </summary>
internal sealed class EventBatchDecoder(IngestLimits limits)
{
    public IncomingBatch Decode(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            throw new BatchFormatException("", "the body is empty; expected a MessagePack map with an 'events' array");
        }

        var reader = new WireReader(body, limits);
        var path = new FieldPath();
        try
        {
            var batch = ReadBatch(ref reader, path);
            if (!reader.End)
            {
                throw new BatchFormatException("", $"unexpected data after the batch at byte {reader.Position}");
            }

            return batch;
        }
        catch (WireFormatException exception)
        {
            throw new BatchFormatException(path.ToString(), exception.Message);
        }
        catch (Exception exception) when (exception is IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            // WireReader checks every length before it slices; should a check be missed, it is still a 400, never a 500.
            throw new BatchFormatException(path.ToString(), reader.DescribeOutOfRange());
        }
    }

    private IncomingBatch ReadBatch(ref WireReader reader, FieldPath path)
    {
        if (reader.PeekType() != MessagePackType.Map)
        {
            throw new BatchFormatException("", "the body must be a MessagePack map with an 'events' array");
        }

        var version = WireFields.ProtocolVersion;
        NameVersion? sdk = null;
        List<IncomingEvent>? events = null;
        Dictionary<string, long>? dropped = null;
        for (var count = reader.ReadMapHeader(); count > 0; count--)
        {
            var key = reader.ReadKey(out var keyName);
            path.Push(keyName);
            if (reader.TryReadNil())
            {
                path.Pop();
                continue; // nil means absent here too
            }

            switch (key)
            {
                case WireKey.Version:
                    version = reader.ReadInt32();
                    if (version is < 1 or > WireFields.ProtocolVersion)
                    {
                        throw new BatchFormatException(WireFields.Version, $"protocol version {version} is not supported (this server reads 1 to {WireFields.ProtocolVersion})");
                    }

                    break;
                case WireKey.Sdk:
                    sdk = ReadNameVersion(ref reader, path);
                    break;
                case WireKey.Dropped:
                    dropped = ReadDropped(ref reader, path);
                    break;
                case WireKey.Events:
                    var eventCount = reader.ReadArrayHeader();
                    if (eventCount > limits.MaxEventsPerBatch)
                    {
                        throw new BatchFormatException(WireFields.Events, $"{eventCount} events in one batch; the limit is {limits.MaxEventsPerBatch}");
                    }

                    events = new List<IncomingEvent>(eventCount);
                    for (var i = 0; i < eventCount; i++)
                    {
                        path.PushIndex(i);
                        events.Add(ReadEvent(ref reader, path));
                        path.Pop();
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }

            path.Pop();
        }

        if (events is null)
        {
            throw new BatchFormatException(WireFields.Events, "missing; a batch needs an 'events' array");
        }

        return new IncomingBatch(version, sdk, events) { Dropped = dropped };
    }

    private IncomingEvent ReadEvent(ref WireReader reader, FieldPath path)
    {
        ExpectMap(ref reader, path);
        Guid? eventId = null;
        DateTimeOffset? timestamp = null;
        string? level = null, message = null, logger = null, platform = null, release = null, environment = null, serverName = null;
        List<string>? fingerprint = null;
        List<ExceptionRecord>? exceptions = null;
        RequestRecord? request = null;
        UserRecord? user = null;
        Dictionary<string, string>? tags = null, extra = null;
        List<BreadcrumbRecord>? breadcrumbs = null;
        NameVersion? runtime = null, os = null, eventSdk = null;

        for (var count = reader.ReadMapHeader(); count > 0; count--)
        {
            var key = reader.ReadKey(out var keyName);
            path.Push(keyName);
            if (reader.TryReadNil())
            {
                path.Pop();
                continue; // nil means absent for every field
            }

            switch (key)
            {
                case WireKey.EventId: eventId = ReadEventId(ref reader, path); break;
                case WireKey.Timestamp: timestamp = ReadTimestamp(ref reader, path); break;
                case WireKey.Level: level = Text(ref reader, limits.MaxShortChars); break;
                case WireKey.Message: message = Text(ref reader, limits.MaxMessageChars); break;
                case WireKey.Logger: logger = Text(ref reader, limits.MaxShortChars); break;
                case WireKey.Platform: platform = Text(ref reader, limits.MaxShortChars); break;
                case WireKey.Release: release = Text(ref reader, limits.MaxShortChars); break;
                case WireKey.Environment: environment = Text(ref reader, limits.MaxShortChars); break;
                case WireKey.ServerName: serverName = Text(ref reader, limits.MaxShortChars); break;
                case WireKey.Fingerprint: fingerprint = ReadStringList(ref reader, path, limits.MaxFingerprintParts, limits.MaxShortChars); break;
                case WireKey.Exceptions: exceptions = ReadExceptions(ref reader, path); break;
                case WireKey.Request: request = ReadRequest(ref reader, path); break;
                case WireKey.User: user = ReadUser(ref reader, path); break;
                case WireKey.Tags: tags = ReadStringMap(ref reader, path, limits.MaxTags, limits.MaxShortChars, limits.MaxShortChars); break;
                case WireKey.Runtime: runtime = ReadNameVersion(ref reader, path); break;
                case WireKey.Os: os = ReadNameVersion(ref reader, path); break;
                case WireKey.Sdk: eventSdk = ReadNameVersion(ref reader, path); break;
                case WireKey.Extra: extra = ReadStringMap(ref reader, path, limits.MaxTags, limits.MaxShortChars, limits.MaxHeaderValueChars); break;
                case WireKey.Breadcrumbs: breadcrumbs = ReadBreadcrumbs(ref reader, path); break;
                default: reader.Skip(); break;
            }

            path.Pop();
        }

        if (exceptions is not { Count: > 0 } && string.IsNullOrWhiteSpace(message))
        {
            throw new BatchFormatException(path.ToString(), "an event needs 'exceptions' or a 'message'");
        }

        return new IncomingEvent
        {
            EventId = eventId,
            Timestamp = timestamp,
            Level = level,
            Message = message,
            Logger = logger,
            Platform = platform,
            Release = release,
            Environment = environment,
            ServerName = serverName,
            Exceptions = exceptions ?? (IReadOnlyList<ExceptionRecord>)[],
            Request = request,
            User = user,
            Tags = tags ?? new Dictionary<string, string>(),
            Runtime = runtime,
            Os = os,
            Sdk = eventSdk,
            Fingerprint = fingerprint,
            Extra = extra is { Count: > 0 } ? extra : null,
            Breadcrumbs = breadcrumbs is { Count: > 0 } ? breadcrumbs : null,
        };
    }

    /// <summary>Most breadcrumbs kept per event (the newest, which come last); the SDK sends 50 at most by default.</summary>
    internal const int MaxBreadcrumbs = 100;

    private List<BreadcrumbRecord> ReadBreadcrumbs(ref WireReader reader, FieldPath path)
    {
        var count = reader.ReadArrayHeader();
        var result = new List<BreadcrumbRecord>(Math.Min(count, MaxBreadcrumbs));
        for (var i = 0; i < count; i++)
        {
            path.PushIndex(i);
            ExpectMap(ref reader, path);
            DateTimeOffset? timestamp = null;
            string? level = null, category = null, message = null;
            for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
            {
                var key = reader.ReadKey(out var keyName);
                path.Push(keyName);
                if (!reader.TryReadNil())
                {
                    switch (key)
                    {
                        case WireKey.Timestamp: timestamp = ReadTimestamp(ref reader, path); break;
                        case WireKey.Level: level = Text(ref reader, limits.MaxShortChars); break;
                        case WireKey.Category: category = Text(ref reader, limits.MaxShortChars); break;
                        case WireKey.Message: message = Text(ref reader, limits.MaxHeaderValueChars); break;
                        default: reader.Skip(); break;
                    }
                }

                path.Pop();
            }

            if (!string.IsNullOrEmpty(message))
            {
                if (result.Count == MaxBreadcrumbs)
                {
                    result.RemoveAt(0); // the newest matter most: they lead up to the event
                }

                result.Add(new BreadcrumbRecord(timestamp, level ?? "info", category, message));
            }

            path.Pop();
        }

        return result;
    }

    private List<ExceptionRecord> ReadExceptions(ref WireReader reader, FieldPath path)
    {
        var count = reader.ReadArrayHeader();
        var result = new List<ExceptionRecord>(Math.Min(count, limits.MaxExceptions));
        for (var i = 0; i < count; i++)
        {
            path.PushIndex(i);
            if (result.Count >= limits.MaxExceptions)
            {
                reader.Skip();
                path.Pop();
                continue;
            }

            ExpectMap(ref reader, path);
            string? type = null, value = null, module = null;
            List<FrameRecord>? frames = null;
            for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
            {
                var key = reader.ReadKey(out var keyName);
                path.Push(keyName);
                if (!reader.TryReadNil())
                {
                    switch (key)
                    {
                        case WireKey.Type: type = Text(ref reader, limits.MaxShortChars); break;
                        case WireKey.Value: value = Text(ref reader, limits.MaxMessageChars); break;
                        case WireKey.Module: module = Text(ref reader, limits.MaxShortChars); break;
                        case WireKey.Frames: frames = ReadFrames(ref reader, path); break;
                        default: reader.Skip(); break;
                    }
                }

                path.Pop();
            }

            if (string.IsNullOrWhiteSpace(type))
            {
                path.Push(WireFields.Type);
                throw new BatchFormatException(path.ToString(), "missing; every exception needs a type");
            }

            result.Add(new ExceptionRecord(type, value ?? "", module, frames ?? (IReadOnlyList<FrameRecord>)[]));
            path.Pop();
        }

        return result;
    }

    private List<FrameRecord> ReadFrames(ref WireReader reader, FieldPath path)
    {
        var count = reader.ReadArrayHeader();
        var result = new List<FrameRecord>(Math.Min(count, limits.MaxFramesPerException));
        for (var i = 0; i < count; i++)
        {
            path.PushIndex(i);
            if (result.Count >= limits.MaxFramesPerException)
            {
                reader.Skip();
                path.Pop();
                continue;
            }

            ExpectMap(ref reader, path);
            string? function = null, type = null, module = null, file = null;
            int? line = null, column = null;
            bool inApp = false, wrapper = false;
            for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
            {
                var key = reader.ReadKey(out var keyName);
                path.Push(keyName);
                if (!reader.TryReadNil())
                {
                    switch (key)
                    {
                        case WireKey.Function: function = Text(ref reader, limits.MaxShortChars); break;
                        case WireKey.Type: type = Text(ref reader, limits.MaxShortChars); break;
                        case WireKey.Module: module = Text(ref reader, limits.MaxShortChars); break;
                        case WireKey.File: file = Text(ref reader, limits.MaxFileChars); break;
                        case WireKey.Line: line = NonNegative(reader.ReadInt64()); break;
                        case WireKey.Column: column = NonNegative(reader.ReadInt64()); break;
                        case WireKey.InApp: inApp = reader.ReadBoolean(); break;
                        case WireKey.Wrapper: wrapper = reader.ReadBoolean(); break;
                        default: reader.Skip(); break;
                    }
                }

                path.Pop();
            }

            // A wrapper (a catch-all middleware, the capture point) only passed the failure on: grouping and the culprit
            // look at in-app frames, and where an exception was caught must not change its issue.
            result.Add(new FrameRecord(function ?? "?", type, module, file, line, column, inApp && !wrapper));
            path.Pop();
        }

        return result;
    }

    private RequestRecord ReadRequest(ref WireReader reader, FieldPath path)
    {
        ExpectMap(ref reader, path);
        string? method = null, url = null, query = null;
        Dictionary<string, string>? headers = null, form = null;
        for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
        {
            var key = reader.ReadKey(out var keyName);
            path.Push(keyName);
            if (!reader.TryReadNil())
            {
                switch (key)
                {
                    case WireKey.Method: method = Text(ref reader, limits.MaxShortChars); break;
                    case WireKey.Url: url = Text(ref reader, limits.MaxUrlChars); break;
                    case WireKey.QueryString: query = Text(ref reader, limits.MaxUrlChars); break;
                    case WireKey.Form:
                        form = ReadStringMap(ref reader, path, limits.MaxHeaders, limits.MaxShortChars, limits.MaxHeaderValueChars);
                        break;
                    case WireKey.Headers:
                        headers = ReadStringMap(ref reader, path, limits.MaxHeaders, limits.MaxShortChars, limits.MaxHeaderValueChars);
                        break;
                    default: reader.Skip(); break;
                }
            }

            path.Pop();
        }

        return new RequestRecord(method, url, query, headers ?? new Dictionary<string, string>())
        {
            Form = form is { Count: > 0 } ? form : null,
        };
    }

    private UserRecord? ReadUser(ref WireReader reader, FieldPath path)
    {
        ExpectMap(ref reader, path);
        string? id = null, username = null, email = null, ip = null;
        for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
        {
            var key = reader.ReadKey(out var keyName);
            path.Push(keyName);
            if (!reader.TryReadNil())
            {
                switch (key)
                {
                    case WireKey.Id: id = ScalarText(ref reader, limits.MaxShortChars); break;
                    case WireKey.Username: username = Text(ref reader, limits.MaxShortChars); break;
                    case WireKey.Email: email = Text(ref reader, limits.MaxShortChars); break;
                    case WireKey.IpAddress: ip = Text(ref reader, limits.MaxShortChars); break;
                    default: reader.Skip(); break;
                }
            }

            path.Pop();
        }

        return id is null && username is null && email is null && ip is null ? null : new UserRecord(id, username, email, ip);
    }

    private NameVersion? ReadNameVersion(ref WireReader reader, FieldPath path)
    {
        ExpectMap(ref reader, path);
        string? name = null, version = null;
        for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
        {
            var key = reader.ReadKey(out var keyName);
            path.Push(keyName);
            if (!reader.TryReadNil())
            {
                switch (key)
                {
                    case WireKey.Name: name = Text(ref reader, limits.MaxShortChars); break;
                    case WireKey.NameVersion: version = Text(ref reader, limits.MaxShortChars); break;
                    default: reader.Skip(); break;
                }
            }

            path.Pop();
        }

        return name is null && version is null ? null : new NameVersion(name, version);
    }

    private static Dictionary<string, string> ReadStringMap(ref WireReader reader, FieldPath path, int maxEntries, int maxKeyChars, int maxValueChars)
    {
        ExpectMap(ref reader, path);
        var count = reader.ReadMapHeader();
        var result = new Dictionary<string, string>(Math.Min(count, maxEntries), StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var key = Text(ref reader, maxKeyChars);
            path.Push(key);
            if (reader.TryReadNil())
            {
                // a nil value means the entry is absent
            }
            else if (result.Count >= maxEntries)
            {
                reader.Skip();
            }
            else
            {
                result[key] = ScalarText(ref reader, maxValueChars);
            }

            path.Pop();
        }

        return result;
    }

    private static List<string> ReadStringList(ref WireReader reader, FieldPath path, int maxEntries, int maxChars)
    {
        var count = reader.ReadArrayHeader();
        var result = new List<string>(Math.Min(count, maxEntries));
        for (var i = 0; i < count; i++)
        {
            path.PushIndex(i);
            if (result.Count >= maxEntries)
            {
                reader.Skip();
            }
            else
            {
                result.Add(ScalarText(ref reader, maxChars));
            }

            path.Pop();
        }

        return result;
    }

    private static Guid ReadEventId(ref WireReader reader, FieldPath path)
    {
        if (reader.PeekType() == MessagePackType.Binary)
        {
            var bytes = reader.ReadBinary();
            if (bytes.Length == 16)
            {
                return new Guid(bytes, bigEndian: true);
            }
        }
        else
        {
            // Parsed from the bytes: an id is unique to its event, so making a string of it is pure cost.
            var utf8 = reader.ReadStringBytes();
            if (utf8.Length is 32 or 36)
            {
                Span<char> text = stackalloc char[36];
                var length = 0;
                foreach (var b in utf8)
                {
                    text[length++] = b < 0x80 ? (char)b : '\uFFFD'; // non-ASCII is never a hex digit or a dash
                }

                if (Guid.TryParseExact(text[..length], "N", out var id) || Guid.TryParseExact(text[..length], "D", out id))
                {
                    return id;
                }
            }
        }

        throw new BatchFormatException(path.ToString(), "not a UUID (32 hex digits, with or without dashes, or 16 bytes)");
    }

    private static DateTimeOffset ReadTimestamp(ref WireReader reader, FieldPath path)
    {
        switch (reader.PeekType())
        {
            case MessagePackType.Extension:
                return reader.ReadTimestamp();
            case MessagePackType.Integer:
                var milliseconds = reader.ReadInt64();
                if (milliseconds is >= 0 and <= 253402300799999)
                {
                    return DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
                }

                break;
            case MessagePackType.Float:
                var seconds = reader.ReadDouble();
                if (seconds is >= 0 and <= 253402300799)
                {
                    return DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
                }

                break;
            case MessagePackType.String:
                if (DateTimeOffset.TryParse(reader.ReadString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                {
                    return parsed.ToUniversalTime();
                }

                break;
            default:
                reader.Skip();
                break;
        }

        throw new BatchFormatException(path.ToString(), "not a timestamp (MessagePack timestamp, milliseconds since 1970, seconds as a float, or ISO 8601 text)");
    }

    private static string Text(ref WireReader reader, int maxChars) => reader.ReadString(maxChars);

    /// <summary>Text, or a number or boolean turned into text: foreign clients send ids and tag values as numbers.</summary>
    private static string ScalarText(ref WireReader reader, int maxChars) => reader.PeekType() switch
    {
        MessagePackType.Integer => reader.ReadInt64().ToString(CultureInfo.InvariantCulture),
        MessagePackType.Float => reader.ReadDouble().ToString(CultureInfo.InvariantCulture),
        MessagePackType.Boolean => reader.ReadBoolean() ? "true" : "false",
        _ => Text(ref reader, maxChars),
    };

    /// <summary>
    /// The SDK's counts of events it dropped since its last accepted batch, by reason: known reasons keep their name,
    /// unknown ones are summed as "other" (a client cannot invent rows), each count is capped, a negative one refused.
    /// </summary>
    private static Dictionary<string, long> ReadDropped(ref WireReader reader, FieldPath path)
    {
        ExpectMap(ref reader, path);
        var count = reader.ReadMapHeader();
        if (count > SdkDropReasons.MaxReasonsPerBatch)
        {
            throw new BatchFormatException(WireFields.Dropped, $"{count} reasons; the limit is {SdkDropReasons.MaxReasonsPerBatch}");
        }

        var dropped = new Dictionary<string, long>(count, StringComparer.Ordinal);
        for (; count > 0; count--)
        {
            var reason = SdkDropReasons.Known(reader.ReadString());
            path.Push(reason);
            var events = reader.ReadInt64();
            if (events < 0)
            {
                throw new BatchFormatException(path.ToString(), $"a count of dropped events cannot be negative, found {events}");
            }

            dropped[reason] = Math.Min(SdkDropReasons.MaxEventsPerReason, dropped.GetValueOrDefault(reason) + Math.Min(events, SdkDropReasons.MaxEventsPerReason));
            path.Pop();
        }

        return dropped;
    }

    private static void ExpectMap(ref WireReader reader, FieldPath path)
    {
        if (reader.PeekType() != MessagePackType.Map)
        {
            reader.ReadMapHeader(); // throws the reader's "expected a map but found ..." message
        }
    }

    private static int? NonNegative(long value) => value is > 0 and <= int.MaxValue ? (int)value : null;

    /// <summary>The path of the field being read, kept as cheap segments and turned into text only for an error.</summary>
    private sealed class FieldPath
    {
        private (string? Name, int Index)[] _segments = new (string?, int)[16];
        private int _count;

        public void Push(string name) => Add((name, -1));

        public void PushIndex(int index) => Add((null, index));

        public void Pop() => _segments[--_count] = default;

        private void Add((string? Name, int Index) segment)
        {
            if (_count == _segments.Length)
            {
                Array.Resize(ref _segments, _count * 2);
            }

            _segments[_count++] = segment;
        }

        public override string ToString()
        {
            var text = new StringBuilder();
            foreach (var (name, index) in _segments.AsSpan(0, _count))
            {
                if (name is null)
                {
                    text.Append('[').Append(index).Append(']');
                }
                else
                {
                    if (text.Length > 0)
                    {
                        text.Append('.');
                    }

                    text.Append(name.Length > 64 ? name[..64] + "…" : name);
                }
            }

            return text.ToString();
        }
    }
}
