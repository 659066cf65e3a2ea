using System.Buffers;
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
/// <remarks>
/// Two modes, one code: <see cref="Decode"/> makes the events, <see cref="Validate"/> walks the same bytes through the same
/// methods and makes none of them (no strings, lists or records: what a request with the journal on needs is only whether the
/// batch is valid and how many events it holds). Every read, type check, limit and refusal is shared; the mode
/// (<see cref="IDecodeMode"/>, a type argument the JIT compiles each method for) only decides whether values are kept.
/// Where a check depends on a value's text, validating asks the bytes the same question (<see cref="Text{TMode}(ref WireReader, int, out bool)"/>)
/// or, where that would take the text, reads that part as decoding does (<see cref="ReadStringMap{TMode}"/>).
/// </remarks>
internal sealed class EventBatchDecoder(IngestLimits limits)
{
    public IncomingBatch Decode(ReadOnlyMemory<byte> body) => Decode(body, DecodedChains.ForOneBatch(body));

    /// <summary>
    /// <see cref="Decode(ReadOnlyMemory{byte})"/> with the chains of earlier batches at hand (<see cref="DecodedChains"/>): the
    /// journal's flusher decodes an insert's batches with one, so a failure sent in every batch is read once an insert. The
    /// events are equal either way; events whose chains were sent as the same bytes share one chain.
    /// </summary>
    public IncomingBatch Decode(ReadOnlyMemory<byte> body, DecodedChains chains) => Read<Materialize>(body, chains, out _)!;

    /// <summary>
    /// Refuses exactly what <see cref="Decode"/> refuses, with the same <see cref="BatchFormatException"/>, and counts the
    /// events, without making them: per event it allocates nothing. The SDK's drop report is read as <see cref="Decode"/>
    /// reads it (a few entries a batch).
    /// </summary>
    public ValidatedBatch Validate(ReadOnlyMemory<byte> body)
    {
        Read<CheckOnly>(body, DecodedChains.ForOneBatch(body), out var validated);
        return validated;
    }

    /// <summary>Whether a mode keeps what it reads; a static member, so each mode's code is compiled with the branches of the other left out.</summary>
    private interface IDecodeMode
    {
        static abstract bool Materializes { get; }
    }

    /// <summary><see cref="Decode"/>: every value made and kept.</summary>
    private readonly struct Materialize : IDecodeMode
    {
        public static bool Materializes => true;
    }

    /// <summary><see cref="Validate"/>: every value read and checked, none made.</summary>
    private readonly struct CheckOnly : IDecodeMode
    {
        public static bool Materializes => false;
    }

    private IncomingBatch? Read<TMode>(ReadOnlyMemory<byte> body, DecodedChains chains, out ValidatedBatch validated)
        where TMode : struct, IDecodeMode
    {
        if (body.IsEmpty)
        {
            throw new BatchFormatException("", "the body is empty; expected a MessagePack map with an 'events' array");
        }

        var reader = new WireReader(body, limits);
        var path = new FieldPath(body);
        try
        {
            var batch = ReadBatch<TMode>(ref reader, path, chains, out validated);
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

    private IncomingBatch? ReadBatch<TMode>(ref WireReader reader, FieldPath path, DecodedChains chains, out ValidatedBatch validated)
        where TMode : struct, IDecodeMode
    {
        if (reader.PeekType() != MessagePackType.Map)
        {
            throw new BatchFormatException("", "the body must be a MessagePack map with an 'events' array");
        }

        var version = WireFields.ProtocolVersion;
        NameVersion? sdk = null;
        List<IncomingEvent>? events = null;
        int? eventCount = null;
        Dictionary<string, long>? dropped = null;
        for (var count = reader.ReadMapHeader(); count > 0; count--)
        {
            var key = EnterKey(ref reader, path);
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
                    sdk = ReadNameVersion<TMode>(ref reader, path);
                    break;
                case WireKey.Dropped:
                    dropped = ReadDropped(ref reader, path);
                    break;
                case WireKey.Events:
                    var declared = reader.ReadArrayHeader();
                    if (declared > limits.MaxEventsPerBatch)
                    {
                        throw new BatchFormatException(WireFields.Events, $"{declared} events in one batch; the limit is {limits.MaxEventsPerBatch}");
                    }

                    events = TMode.Materializes ? new List<IncomingEvent>(declared) : null;
                    for (var i = 0; i < declared; i++)
                    {
                        path.PushIndex(i);
                        var read = ReadEvent<TMode>(ref reader, path, chains);
                        events?.Add(read!);
                        path.Pop();
                    }

                    eventCount = declared;
                    break;
                default:
                    reader.Skip();
                    break;
            }

            path.Pop();
        }

        if (eventCount is null)
        {
            throw new BatchFormatException(WireFields.Events, "missing; a batch needs an 'events' array");
        }

        validated = new ValidatedBatch(eventCount.Value, dropped);
        return TMode.Materializes ? new IncomingBatch(version, sdk, events!) { Dropped = dropped } : null;
    }

    private IncomingEvent? ReadEvent<TMode>(ref WireReader reader, FieldPath path, DecodedChains chains)
        where TMode : struct, IDecodeMode
    {
        ExpectMap(ref reader, path);
        Guid? eventId = null;
        DateTimeOffset? timestamp = null;
        string? level = null, message = null, logger = null, platform = null, release = null, environment = null, serverName = null;
        List<string>? fingerprint = null;
        IReadOnlyList<ExceptionRecord>? exceptions = null;
        RequestRecord? request = null;
        UserRecord? user = null;
        Dictionary<string, string>? tags = null, extra = null;
        List<BreadcrumbRecord>? breadcrumbs = null;
        NameVersion? runtime = null, os = null, eventSdk = null;
        var hasMessage = false;
        var exceptionCount = 0;

        for (var count = reader.ReadMapHeader(); count > 0; count--)
        {
            var key = EnterKey(ref reader, path);
            if (reader.TryReadNil())
            {
                path.Pop();
                continue; // nil means absent for every field
            }

            switch (key)
            {
                case WireKey.EventId: eventId = ReadEventId(ref reader, path); break;
                case WireKey.Timestamp: timestamp = ReadTimestamp(ref reader, path); break;
                case WireKey.Level: level = Text<TMode>(ref reader, limits.MaxShortChars); break;
                case WireKey.Message: message = Text<TMode>(ref reader, limits.MaxMessageChars, out hasMessage); break;
                case WireKey.Logger: logger = Text<TMode>(ref reader, limits.MaxShortChars); break;
                case WireKey.Platform: platform = Text<TMode>(ref reader, limits.MaxShortChars); break;
                case WireKey.Release: release = Text<TMode>(ref reader, limits.MaxShortChars); break;
                case WireKey.Environment: environment = Text<TMode>(ref reader, limits.MaxShortChars); break;
                case WireKey.ServerName: serverName = Text<TMode>(ref reader, limits.MaxShortChars); break;
                case WireKey.Fingerprint: fingerprint = ReadStringList<TMode>(ref reader, path, limits.MaxFingerprintParts, limits.MaxShortChars); break;
                case WireKey.Exceptions: exceptions = ReadChain<TMode>(ref reader, path, chains, out exceptionCount); break;
                case WireKey.Request: request = ReadRequest<TMode>(ref reader, path); break;
                case WireKey.User: user = ReadUser<TMode>(ref reader, path); break;
                case WireKey.Tags: tags = ReadStringMap<TMode>(ref reader, path, limits.MaxTags, limits.MaxShortChars, limits.MaxShortChars); break;
                case WireKey.Runtime: runtime = ReadNameVersion<TMode>(ref reader, path); break;
                case WireKey.Os: os = ReadNameVersion<TMode>(ref reader, path); break;
                case WireKey.Sdk: eventSdk = ReadNameVersion<TMode>(ref reader, path); break;
                case WireKey.Extra: extra = ReadStringMap<TMode>(ref reader, path, limits.MaxTags, limits.MaxShortChars, limits.MaxHeaderValueChars); break;
                case WireKey.Breadcrumbs: breadcrumbs = ReadBreadcrumbs<TMode>(ref reader, path); break;
                default: reader.Skip(); break;
            }

            path.Pop();
        }

        if (exceptionCount == 0 && !hasMessage)
        {
            throw new BatchFormatException(path.ToString(), "an event needs 'exceptions' or a 'message'");
        }

        if (!TMode.Materializes)
        {
            return null;
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

    private List<BreadcrumbRecord>? ReadBreadcrumbs<TMode>(ref WireReader reader, FieldPath path)
        where TMode : struct, IDecodeMode
    {
        var count = reader.ReadArrayHeader();
        var result = TMode.Materializes ? new List<BreadcrumbRecord>(Math.Min(count, MaxBreadcrumbs)) : null;
        for (var i = 0; i < count; i++)
        {
            path.PushIndex(i);
            ExpectMap(ref reader, path);
            DateTimeOffset? timestamp = null;
            string? level = null, category = null, message = null;
            for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
            {
                var key = EnterKey(ref reader, path);
                if (!reader.TryReadNil())
                {
                    switch (key)
                    {
                        case WireKey.Timestamp: timestamp = ReadTimestamp(ref reader, path); break;
                        case WireKey.Level: level = Text<TMode>(ref reader, limits.MaxShortChars); break;
                        case WireKey.Category: category = Text<TMode>(ref reader, limits.MaxShortChars); break;
                        case WireKey.Message: message = Text<TMode>(ref reader, limits.MaxHeaderValueChars); break;
                        default: reader.Skip(); break;
                    }
                }

                path.Pop();
            }

            if (result is not null && !string.IsNullOrEmpty(message))
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

    /// <summary>
    /// <see cref="ReadExceptions{TMode}"/>, or what it gave for an array of the same bytes before (<see cref="DecodedChains"/>).
    /// The array is first skipped to know its bytes; an array that cannot be skipped (cut short, malformed, nested past the
    /// limit) is read as it would have been, so it is refused, or read, exactly as without the look-up.
    /// </summary>
    private IReadOnlyList<ExceptionRecord>? ReadChain<TMode>(ref WireReader reader, FieldPath path, DecodedChains chains, out int kept)
        where TMode : struct, IDecodeMode
    {
        if (!chains.Worthwhile)
        {
            return ReadExceptions<TMode>(ref reader, path, out kept);
        }

        if (chains.TryGetByStart(reader.Rest, TMode.Materializes, out var found, out kept, out var length))
        {
            reader.Advance(length);
            return found;
        }

        var start = reader;
        var offset = (int)reader.Position;
        if (!reader.TrySkip(out var encoded))
        {
            return ReadExceptions<TMode>(ref reader, path, out kept);
        }

        if (chains.TryGet(encoded, TMode.Materializes, out var hash, out var known, out kept))
        {
            return known;
        }

        reader = start;
        var chain = ReadExceptions<TMode>(ref reader, path, out kept);
        chains.Keep(encoded, offset, hash, chain, kept);
        return chain;
    }

    /// <summary>The exceptions kept (at most <see cref="IngestLimits.MaxExceptions"/>; the rest skipped), and in <paramref name="kept"/> how many.</summary>
    private List<ExceptionRecord>? ReadExceptions<TMode>(ref WireReader reader, FieldPath path, out int kept)
        where TMode : struct, IDecodeMode
    {
        var count = reader.ReadArrayHeader();
        var result = TMode.Materializes ? new List<ExceptionRecord>(Math.Min(count, limits.MaxExceptions)) : null;
        kept = 0;
        for (var i = 0; i < count; i++)
        {
            path.PushIndex(i);
            if (kept >= limits.MaxExceptions)
            {
                reader.Skip();
                path.Pop();
                continue;
            }

            ExpectMap(ref reader, path);
            string? type = null, value = null, module = null;
            var hasType = false;
            List<FrameRecord>? frames = null;
            for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
            {
                var key = EnterKey(ref reader, path);
                if (!reader.TryReadNil())
                {
                    switch (key)
                    {
                        case WireKey.Type: type = Text<TMode>(ref reader, limits.MaxShortChars, out hasType); break;
                        case WireKey.Value: value = Text<TMode>(ref reader, limits.MaxMessageChars); break;
                        case WireKey.Module: module = Text<TMode>(ref reader, limits.MaxShortChars); break;
                        case WireKey.Frames: frames = ReadFrames<TMode>(ref reader, path); break;
                        default: reader.Skip(); break;
                    }
                }

                path.Pop();
            }

            if (!hasType)
            {
                path.Push(WireFields.Type);
                throw new BatchFormatException(path.ToString(), "missing; every exception needs a type");
            }

            result?.Add(new ExceptionRecord(type!, value ?? "", module, frames ?? (IReadOnlyList<FrameRecord>)[]));
            kept++;
            path.Pop();
        }

        return result;
    }

    private List<FrameRecord>? ReadFrames<TMode>(ref WireReader reader, FieldPath path)
        where TMode : struct, IDecodeMode
    {
        var count = reader.ReadArrayHeader();
        var result = TMode.Materializes ? new List<FrameRecord>(Math.Min(count, limits.MaxFramesPerException)) : null;
        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            path.PushIndex(i);
            if (kept >= limits.MaxFramesPerException)
            {
                reader.Skip();
                path.Pop();
                continue;
            }

            ExpectMap(ref reader, path);
            string? function = null, type = null, module = null, file = null;
            int? line = null, column = null;
            bool inApp = false, wrapper = false, package = false;
            for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
            {
                var key = EnterKey(ref reader, path);
                if (!reader.TryReadNil())
                {
                    switch (key)
                    {
                        case WireKey.Function: function = Text<TMode>(ref reader, limits.MaxShortChars); break;
                        case WireKey.Type: type = Text<TMode>(ref reader, limits.MaxShortChars); break;
                        case WireKey.Module: module = Text<TMode>(ref reader, limits.MaxShortChars); break;
                        case WireKey.File: file = Text<TMode>(ref reader, limits.MaxFileChars); break;
                        case WireKey.Line: line = NonNegative(reader.ReadInt64()); break;
                        case WireKey.Column: column = NonNegative(reader.ReadInt64()); break;
                        case WireKey.InApp: inApp = reader.ReadBoolean(); break;
                        case WireKey.Wrapper: wrapper = reader.ReadBoolean(); break;
                        case WireKey.Package: package = reader.ReadBoolean(); break;
                        default: reader.Skip(); break;
                    }
                }

                path.Pop();
            }

            // A wrapper (a catch-all middleware, the capture point) only passed the failure on: grouping and the culprit
            // look at in-app frames, and where an exception was caught must not change its issue. A NuGet package's frame the
            // client marked in-app by its namespace is a library's (grouping version 9); versions before read it as marked.
            var marked = inApp && !wrapper;
            result?.Add(new FrameRecord(function ?? "?", type, module, file, line, column, marked && !package, Package: marked && package));
            kept++;
            path.Pop();
        }

        return result;
    }

    private RequestRecord? ReadRequest<TMode>(ref WireReader reader, FieldPath path)
        where TMode : struct, IDecodeMode
    {
        ExpectMap(ref reader, path);
        string? method = null, url = null, query = null;
        Dictionary<string, string>? headers = null, form = null;
        for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
        {
            var key = EnterKey(ref reader, path);
            if (!reader.TryReadNil())
            {
                switch (key)
                {
                    case WireKey.Method: method = Text<TMode>(ref reader, limits.MaxShortChars); break;
                    case WireKey.Url: url = Text<TMode>(ref reader, limits.MaxUrlChars); break;
                    case WireKey.QueryString: query = Text<TMode>(ref reader, limits.MaxUrlChars); break;
                    case WireKey.Form:
                        form = ReadStringMap<TMode>(ref reader, path, limits.MaxHeaders, limits.MaxShortChars, limits.MaxHeaderValueChars);
                        break;
                    case WireKey.Headers:
                        headers = ReadStringMap<TMode>(ref reader, path, limits.MaxHeaders, limits.MaxShortChars, limits.MaxHeaderValueChars);
                        break;
                    default: reader.Skip(); break;
                }
            }

            path.Pop();
        }

        if (!TMode.Materializes)
        {
            return null;
        }

        return new RequestRecord(method, url, query, headers ?? new Dictionary<string, string>())
        {
            Form = form is { Count: > 0 } ? form : null,
        };
    }

    private UserRecord? ReadUser<TMode>(ref WireReader reader, FieldPath path)
        where TMode : struct, IDecodeMode
    {
        ExpectMap(ref reader, path);
        string? id = null, username = null, email = null, ip = null;
        for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
        {
            var key = EnterKey(ref reader, path);
            if (!reader.TryReadNil())
            {
                switch (key)
                {
                    case WireKey.Id: id = ScalarText<TMode>(ref reader, limits.MaxShortChars); break;
                    case WireKey.Username: username = Text<TMode>(ref reader, limits.MaxShortChars); break;
                    case WireKey.Email: email = Text<TMode>(ref reader, limits.MaxShortChars); break;
                    case WireKey.IpAddress: ip = Text<TMode>(ref reader, limits.MaxShortChars); break;
                    default: reader.Skip(); break;
                }
            }

            path.Pop();
        }

        return id is null && username is null && email is null && ip is null ? null : new UserRecord(id, username, email, ip);
    }

    private NameVersion? ReadNameVersion<TMode>(ref WireReader reader, FieldPath path)
        where TMode : struct, IDecodeMode
    {
        ExpectMap(ref reader, path);
        string? name = null, version = null;
        for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
        {
            var key = EnterKey(ref reader, path);
            if (!reader.TryReadNil())
            {
                switch (key)
                {
                    case WireKey.Name: name = Text<TMode>(ref reader, limits.MaxShortChars); break;
                    case WireKey.NameVersion: version = Text<TMode>(ref reader, limits.MaxShortChars); break;
                    default: reader.Skip(); break;
                }
            }

            path.Pop();
        }

        return name is null && version is null ? null : new NameVersion(name, version);
    }

    private static Dictionary<string, string>? ReadStringMap<TMode>(ref WireReader reader, FieldPath path, int maxEntries, int maxKeyChars, int maxValueChars)
        where TMode : struct, IDecodeMode
    {
        ExpectMap(ref reader, path);
        var count = reader.ReadMapHeader();
        if (!TMode.Materializes && count > maxEntries)
        {
            // Past maxEntries values are skipped unread (any type then passes), and when that starts depends on how many
            // distinct keys, as cut text, came before: knowing it takes the keys' text, so such a map (past the limit, rare)
            // is read exactly as decoding reads it. Within the limit no value is ever skipped, and no text is needed.
            ReadStringMapEntries<Materialize>(ref reader, path, count, maxEntries, maxKeyChars, maxValueChars);
            return null;
        }

        return ReadStringMapEntries<TMode>(ref reader, path, count, maxEntries, maxKeyChars, maxValueChars);
    }

    private static Dictionary<string, string>? ReadStringMapEntries<TMode>(ref WireReader reader, FieldPath path, int count, int maxEntries, int maxKeyChars, int maxValueChars)
        where TMode : struct, IDecodeMode
    {
        var result = TMode.Materializes ? new Dictionary<string, string>(Math.Min(count, maxEntries), StringComparer.Ordinal) : null;
        for (var i = 0; i < count; i++)
        {
            var keyBytes = reader.ReadStringBytes(out var keyStart);
            var key = TMode.Materializes ? reader.MakeString(keyBytes, maxKeyChars) : null;
            path.PushText(keyStart, keyBytes.Length, maxKeyChars);
            if (reader.TryReadNil())
            {
                // a nil value means the entry is absent
            }
            else if ((result?.Count ?? 0) >= maxEntries)
            {
                reader.Skip();
            }
            else
            {
                var value = ScalarText<TMode>(ref reader, maxValueChars);
                if (result is not null)
                {
                    result[key!] = value!;
                }
            }

            path.Pop();
        }

        return result;
    }

    private static List<string>? ReadStringList<TMode>(ref WireReader reader, FieldPath path, int maxEntries, int maxChars)
        where TMode : struct, IDecodeMode
    {
        var count = reader.ReadArrayHeader();
        var result = TMode.Materializes ? new List<string>(Math.Min(count, maxEntries)) : null;
        for (var i = 0; i < count; i++)
        {
            path.PushIndex(i);
            if (i >= maxEntries)
            {
                reader.Skip();
            }
            else
            {
                var part = ScalarText<TMode>(ref reader, maxChars);
                result?.Add(part!);
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
                if (TryParseTimestamp(reader.ReadStringBytes(), out var parsed))
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

    /// <summary>
    /// ISO 8601 text, parsed from the characters the string decodes to (as <see cref="WireReader.ReadString"/> decodes it) without
    /// making the string: <see cref="DateTimeOffset.TryParse(string, IFormatProvider, DateTimeStyles, out DateTimeOffset)"/> parses
    /// a string's characters as this overload does.
    /// </summary>
    private static bool TryParseTimestamp(ReadOnlySpan<byte> utf8, out DateTimeOffset parsed)
    {
        const int OnTheStack = 128; // an ISO 8601 time is about 30 characters
        char[]? rented = null;
        var chars = utf8.Length <= OnTheStack ? stackalloc char[OnTheStack] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            var length = Utf8StringTable.DecodeInto(utf8, chars);
            return DateTimeOffset.TryParse(chars[..length], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out parsed);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Reads a string (any other type is refused as decoding refuses it); its text, cut to <paramref name="maxChars"/>, only when the mode keeps values.</summary>
    private static string? Text<TMode>(ref WireReader reader, int maxChars)
        where TMode : struct, IDecodeMode
    {
        var utf8 = reader.ReadStringBytes();
        return TMode.Materializes ? reader.MakeString(utf8, maxChars) : null;
    }

    /// <summary>
    /// <see cref="Text{TMode}(ref WireReader, int)"/> for a field that must not be blank: <paramref name="hasText"/> is whether the
    /// text, cut to <paramref name="maxChars"/>, is anything but white space. Decoding asks the text it made; validating asks
    /// the bytes the same question (<see cref="Utf8StringTable.HasNonWhiteSpace"/>).
    /// </summary>
    private static string? Text<TMode>(ref WireReader reader, int maxChars, out bool hasText)
        where TMode : struct, IDecodeMode
    {
        var utf8 = reader.ReadStringBytes();
        if (!TMode.Materializes)
        {
            hasText = Utf8StringTable.HasNonWhiteSpace(utf8, maxChars);
            return null;
        }

        var text = reader.MakeString(utf8, maxChars);
        hasText = !string.IsNullOrWhiteSpace(text);
        return text;
    }

    /// <summary>Text, or a number or boolean turned into text: foreign clients send ids and tag values as numbers.</summary>
    private static string? ScalarText<TMode>(ref WireReader reader, int maxChars)
        where TMode : struct, IDecodeMode
    {
        switch (reader.PeekType())
        {
            case MessagePackType.Integer:
                var integer = reader.ReadInt64();
                return TMode.Materializes ? integer.ToString(CultureInfo.InvariantCulture) : null;
            case MessagePackType.Float:
                var number = reader.ReadDouble();
                return TMode.Materializes ? number.ToString(CultureInfo.InvariantCulture) : null;
            case MessagePackType.Boolean:
                var boolean = reader.ReadBoolean();
                return TMode.Materializes ? (boolean ? "true" : "false") : null;
            default:
                return Text<TMode>(ref reader, maxChars);
        }
    }

    /// <summary>Reads a map key and enters it in the path: a known key by its constant name, any other by where its bytes are.</summary>
    private static WireKey EnterKey(ref WireReader reader, FieldPath path)
    {
        var key = reader.ReadKey(out var nameStart, out var nameLength);
        if (key == WireKey.Unknown)
        {
            path.PushText(nameStart, nameLength, int.MaxValue);
        }
        else
        {
            path.Push(WireKeys.Name(key));
        }

        return key;
    }

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
    private sealed class FieldPath(ReadOnlyMemory<byte> body)
    {
        private Segment[] _segments = new Segment[16];
        private int _count;

        public void Push(string name) => Add(new Segment(name, -1, 0, 0, 0));

        public void PushIndex(int index) => Add(new Segment(null, index, 0, 0, 0));

        /// <summary>A name given by where its UTF-8 bytes are in the body; made into text (cut to <paramref name="maxChars"/>) only for an error.</summary>
        public void PushText(int start, int length, int maxChars) => Add(new Segment(null, -1, start, length, maxChars));

        public void Pop() => _segments[--_count] = default;

        private void Add(Segment segment)
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
            foreach (var segment in _segments.AsSpan(0, _count))
            {
                if (segment is { Name: null, Index: >= 0 })
                {
                    text.Append('[').Append(segment.Index).Append(']');
                }
                else
                {
                    var name = segment.Name ?? Utf8StringTable.Decode(body.Span.Slice(segment.TextStart, segment.TextLength), segment.MaxChars);
                    if (text.Length > 0)
                    {
                        text.Append('.');
                    }

                    text.Append(name.Length > 64 ? name[..64] + "…" : name);
                }
            }

            return text.ToString();
        }

        /// <summary>A name; an index (<c>Index</c> ≥ 0); or, with neither, text whose UTF-8 bytes are in the body, cut to <c>MaxChars</c>.</summary>
        private readonly record struct Segment(string? Name, int Index, int TextStart, int TextLength, int MaxChars);
    }
}
