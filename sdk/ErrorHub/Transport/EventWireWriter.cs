using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
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
    private static readonly byte[] Platform = StringBytes("csharp");
    private static readonly byte[] DebugLevel = StringBytes(LevelName(ErrorHubLevel.Debug));
    private static readonly byte[] InfoLevel = StringBytes(LevelName(ErrorHubLevel.Info));
    private static readonly byte[] WarningLevel = StringBytes(LevelName(ErrorHubLevel.Warning));
    private static readonly byte[] ErrorLevel = StringBytes(LevelName(ErrorHubLevel.Error));
    private static readonly byte[] FatalLevel = StringBytes(LevelName(ErrorHubLevel.Fatal));

    // The last value written of each repeating field, with its bytes; swapped whole, so any thread may write events.
    private static Encoded<string>? s_release;
    private static Encoded<string>? s_environment;
    private static Encoded<string>? s_serverName;
    private static Encoded<NameAndVersion>? s_runtime;
    private static Encoded<NameAndVersion>? s_os;

    public static void WriteBatch(IBufferWriter<byte> output, IReadOnlyList<ErrorHubEvent> events, NameAndVersion? sdk = null)
    {
        WriteBatchHeader(output, events.Count, dropped: null, sdk);
        var writer = new MessagePackWriter(output);
        foreach (var errorEvent in events)
        {
            WriteEvent(ref writer, errorEvent);
        }

        writer.Flush();
    }

    /// <summary>One event on its own, as it appears inside a batch's <c>events</c> array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        WriteBatchHeader(output, encodedEvents.Count, dropped, sdk);
        foreach (var encoded in encodedEvents)
        {
            output.Write(encoded);
        }
    }

    /// <summary>
    /// Everything of a batch before its events (the envelope and the events array's header): followed by the events'
    /// bytes as <see cref="WriteEvent(IBufferWriter{byte}, ErrorHubEvent)"/> wrote them, it is the batch. The sender
    /// streams the two into gzip without first joining them in one buffer.
    /// </summary>
    public static void WriteBatchHeader(
        IBufferWriter<byte> output, int eventCount, IReadOnlyList<KeyValuePair<string, long>>? dropped = null, NameAndVersion? sdk = null)
    {
        var writer = new MessagePackWriter(output);
        var hasDrops = dropped is { Count: > 0 };
        writer.WriteMapHeader(hasDrops ? 4 : 3);
        writer.WriteRaw(Keys.Version);
        writer.Write(WireFields.ProtocolVersion);
        writer.WriteRaw(Keys.Sdk);
        WriteNameVersion(ref writer, sdk ?? ThisSdk);
        if (hasDrops)
        {
            writer.WriteRaw(Keys.Dropped);
            writer.WriteMapHeader(dropped!.Count);
            foreach (var (reason, count) in dropped)
            {
                writer.Write(reason);
                writer.Write(count);
            }
        }

        writer.WriteRaw(Keys.Events);
        writer.WriteArrayHeader(eventCount);
        writer.Flush();
    }

    /// <remarks>
    /// Every field is written by a small helper of its own kind that is never inlined here: MessagePack's writer is
    /// inlined into each helper once, not into this method at every field, so the event's path compiled fully
    /// optimized is about 12 KB instead of 30 (docs/benchmarks.md, section "storm4"). That path is marked
    /// AggressiveOptimization and compiled by the SDK's warm-up at start (<see cref="EventPathWarmUp"/>): a storm in
    /// the app's first seconds no longer runs it at tier 0. Such code never gets the JIT's profile-guided
    /// devirtualization, and a <c>foreach</c> over an <c>IList</c> or <c>IDictionary</c> boxes its enumerator: the
    /// helpers ask for the SDK's own <c>List</c> and <c>Dictionary</c>, whose enumerators are structs (about 150 B
    /// less per event).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteEvent(ref MessagePackWriter writer, ErrorHubEvent e)
    {
        // An exception captured by the SDK and not looked at since (by BeforeSend) is written straight from its
        // captured frames, each frame's bytes made once per place in the code: no entry objects, no names re-encoded.
        var captured = e.UnreadCapturedChain;
        var exceptionCount = captured?.Count ?? e.Exceptions.Count;
        var count = 4 // event_id, timestamp, level, platform
            + Present(e.Message) + Present(e.Logger) + Present(e.Release) + Present(e.Environment) + Present(e.ServerName)
            + (e.Fingerprint is { Count: > 0 } ? 1 : 0)
            + (exceptionCount > 0 ? 1 : 0)
            + (e.Request is null ? 0 : 1)
            + (e.User is null ? 0 : 1)
            + (e.Tags.Count > 0 ? 1 : 0)
            + (e.Extra.Count > 0 ? 1 : 0)
            + (e.Breadcrumbs.Count > 0 ? 1 : 0)
            + (e.Runtime is null ? 0 : 1)
            + (e.OperatingSystem is null ? 0 : 1);
        WriteHead(ref writer, count, e.EventId, e.Timestamp, e.Level);
        WriteOptional(ref writer, Keys.Message, e.Message);
        WriteOptional(ref writer, Keys.Logger, e.Logger);
        WriteRepeated(ref writer, Keys.Release, e.Release, ref s_release);
        WriteRepeated(ref writer, Keys.Environment, e.Environment, ref s_environment);
        WriteRepeated(ref writer, Keys.ServerName, e.ServerName, ref s_serverName);

        if (e.Fingerprint is { Count: > 0 } fingerprint)
        {
            WriteStringArray(ref writer, Keys.Fingerprint, fingerprint);
        }

        if (captured is not null)
        {
            WriteKey(ref writer, Keys.Exceptions);
            captured.Write(ref writer);
        }
        else if (exceptionCount > 0)
        {
            WriteExceptions(ref writer, e.Exceptions);
        }

        if (e.Request is { UnreadSnapshot: { } snapshot } && snapshot.TryReadForWire(out var unread))
        {
            // A request nobody read (BeforeSend did not look): written straight from its copy, without making the
            // header dictionary.
            WriteRequest(ref writer, unread);
        }
        else if (e.Request is { } request)
        {
            WriteRequest(ref writer, request);
        }

        if (e.User is { } user)
        {
            WriteUser(ref writer, user);
        }

        if (e.Tags.Count > 0)
        {
            WriteStringMap(ref writer, Keys.Tags, e.Tags);
        }

        if (e.Extra.Count > 0)
        {
            WriteStringMap(ref writer, Keys.Extra, e.Extra);
        }

        if (e.Breadcrumbs.Count > 0)
        {
            WriteBreadcrumbs(ref writer, e.Breadcrumbs);
        }

        if (e.Runtime is { } runtime)
        {
            WriteRepeated(ref writer, Keys.Runtime, runtime, ref s_runtime);
        }

        if (e.OperatingSystem is { } os)
        {
            WriteRepeated(ref writer, Keys.Os, os, ref s_os);
        }
    }

    /// <summary>The event's map header and the four fields every event has: id, timestamp, level, platform.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteHead(ref MessagePackWriter writer, int fieldCount, Guid eventId, DateTimeOffset timestamp, ErrorHubLevel level)
    {
        writer.WriteMapHeader(fieldCount);
        writer.WriteRaw(Keys.EventId);
        writer.WriteStringHeader(32); // 32 hex digits, formatted where they go
        eventId.TryFormat(writer.GetSpan(32), out _, "N");
        writer.Advance(32);
        writer.WriteRaw(Keys.Timestamp);
        writer.Write(timestamp.UtcDateTime);
        writer.WriteRaw(Keys.Level);
        writer.WriteRaw(LevelBytes(level));
        writer.WriteRaw(Keys.Platform);
        writer.WriteRaw(Platform);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteKey(ref MessagePackWriter writer, byte[] key) => writer.WriteRaw(key);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteStringArray(ref MessagePackWriter writer, byte[] key, IList<string> values)
    {
        writer.WriteRaw(key);
        var count = Math.Min(values.Count, MaxEntries);
        writer.WriteArrayHeader(count);
        for (var i = 0; i < count; i++)
        {
            WriteValue(ref writer, values[i] ?? "");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteExceptions(ref MessagePackWriter writer, IList<ExceptionEntry> exceptions)
    {
        writer.WriteRaw(Keys.Exceptions);
        writer.WriteArrayHeader(exceptions.Count);
        if (exceptions is List<ExceptionEntry> list)
        {
            foreach (var exception in list)
            {
                WriteException(ref writer, exception);
            }

            return;
        }

        foreach (var exception in exceptions)
        {
            WriteException(ref writer, exception);
        }
    }

    /// <summary>A request as its copy holds it (see <see cref="RequestSnapshot.TryReadForWire"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteRequest(ref MessagePackWriter writer, in WireRequest unread)
    {
        writer.WriteRaw(Keys.Request);
        var form = unread.Form is { Count: > 0 } fields ? fields : null;
        writer.WriteMapHeader(Present(unread.Method) + Present(unread.Url) + Present(unread.QueryString) + 1 + (form is null ? 0 : 1));
        WriteOptional(ref writer, Keys.Method, unread.Method);
        WriteOptional(ref writer, Keys.Url, unread.Url);
        WriteOptional(ref writer, Keys.QueryString, unread.QueryString);
        WriteStringPairs(ref writer, Keys.Headers, unread.Headers);
        if (form is not null)
        {
            WriteStringMap(ref writer, Keys.Form, form);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteRequest(ref MessagePackWriter writer, RequestInfo request)
    {
        writer.WriteRaw(Keys.Request);
        writer.WriteMapHeader(Present(request.Method) + Present(request.Url) + Present(request.QueryString) + 1 + (request.Form.Count > 0 ? 1 : 0));
        WriteOptional(ref writer, Keys.Method, request.Method);
        WriteOptional(ref writer, Keys.Url, request.Url);
        WriteOptional(ref writer, Keys.QueryString, request.QueryString);
        WriteStringMap(ref writer, Keys.Headers, request.Headers);
        if (request.Form.Count > 0)
        {
            WriteStringMap(ref writer, Keys.Form, request.Form);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteUser(ref MessagePackWriter writer, UserInfo user)
    {
        writer.WriteRaw(Keys.User);
        writer.WriteMapHeader(Present(user.Id) + Present(user.Username) + Present(user.Email) + Present(user.IpAddress));
        WriteOptional(ref writer, Keys.Id, user.Id);
        WriteOptional(ref writer, Keys.Username, user.Username);
        WriteOptional(ref writer, Keys.Email, user.Email);
        WriteOptional(ref writer, Keys.IpAddress, user.IpAddress);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteBreadcrumbs(ref MessagePackWriter writer, IList<Breadcrumb> breadcrumbs)
    {
        writer.WriteRaw(Keys.Breadcrumbs);
        var first = Math.Max(0, breadcrumbs.Count - MaxEntries); // the newest, as ingest keeps them
        writer.WriteArrayHeader(breadcrumbs.Count - first);
        if (breadcrumbs is List<Breadcrumb> list)
        {
            for (var i = first; i < list.Count; i++)
            {
                WriteBreadcrumb(ref writer, list[i]);
            }

            return;
        }

        for (var i = first; i < breadcrumbs.Count; i++)
        {
            WriteBreadcrumb(ref writer, breadcrumbs[i]);
        }
    }

    /// <summary>
    /// A breadcrumb as its map. Those of the process's scope (the host's "Application started", the app's own at start)
    /// go with every event, and a storm would write the same ones again for each: a breadcrumb written a second time
    /// keeps its bytes and is copied from then on (it cannot change). One written once, as a request's own, is written
    /// straight, as before, with nothing kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteBreadcrumb(ref MessagePackWriter writer, Breadcrumb crumb)
    {
        var kept = Volatile.Read(ref crumb.WireBytes);
        if (kept is null)
        {
            Volatile.Write(ref crumb.WireBytes, WrittenOnce);
            WriteBreadcrumbFields(ref writer, crumb);
            return;
        }

        if (ReferenceEquals(kept, WrittenOnce))
        {
            kept = EncodeBreadcrumb(crumb);
            Volatile.Write(ref crumb.WireBytes, kept);
        }

        writer.WriteRaw(kept);
    }

    /// <summary>Marks a breadcrumb written once (see <see cref="WriteBreadcrumb"/>): never written as bytes.</summary>
    private static readonly byte[] WrittenOnce = new byte[1];

    /// <summary>One breadcrumb alone, exactly as it appears in an event's <c>breadcrumbs</c>.</summary>
    internal static byte[] EncodeBreadcrumb(Breadcrumb crumb)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + (crumb.Message.Length * 3) + ((crumb.Category?.Length ?? 0) * 3));
        var writer = new MessagePackWriter(buffer);
        WriteBreadcrumbFields(ref writer, crumb);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteBreadcrumbFields(ref MessagePackWriter writer, Breadcrumb crumb)
    {
        writer.WriteMapHeader(3 + Present(crumb.Category));
        writer.WriteRaw(Keys.Timestamp);
        writer.Write(crumb.Timestamp.UtcDateTime);
        writer.WriteRaw(Keys.Level);
        WriteValue(ref writer, LevelName(crumb.Level));
        WriteOptional(ref writer, Keys.Category, crumb.Category);
        writer.WriteRaw(Keys.Message);
        WriteValue(ref writer, crumb.Message);
    }

    private static void WriteException(ref MessagePackWriter writer, ExceptionEntry exception)
    {
        writer.WriteMapHeader(3 + Present(exception.Module));
        writer.WriteRaw(Keys.Type);
        WriteValue(ref writer, exception.Type);
        writer.WriteRaw(Keys.Value);
        WriteValue(ref writer, exception.Value);
        WriteOptional(ref writer, Keys.Module, exception.Module);
        writer.WriteRaw(Keys.Frames);
        writer.WriteArrayHeader(exception.Frames.Count);
        foreach (var frame in exception.Frames)
        {
            WriteFrame(ref writer, frame);
        }
    }

    /// <summary>One frame alone, exactly as it appears in an exception's <c>frames</c>.</summary>
    internal static byte[] EncodeFrame(StackFrameEntry frame)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        WriteFrame(ref writer, frame);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An exception's <c>frames</c> array (its header and each frame's bytes, written before), as one value.</summary>
    internal static byte[] EncodeFrames(List<byte[]> frames)
    {
        var length = 5; // the longest array header
        foreach (var frame in frames)
        {
            length += frame.Length;
        }

        var buffer = new ArrayBufferWriter<byte>(length);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(frames.Count);
        foreach (var frame in frames)
        {
            writer.WriteRaw(frame);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The <c>type</c> and <c>value</c> and, when known, <c>module</c> of an exception, then its <c>frames</c> array, written before.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void WriteException(ref MessagePackWriter writer, byte[] typeField, string value, byte[]? moduleField, byte[] framesValue)
    {
        writer.WriteMapHeader(moduleField is null ? 3 : 4);
        writer.WriteRaw(typeField);
        writer.WriteRaw(Keys.Value);
        WriteValue(ref writer, value);
        if (moduleField is not null)
        {
            writer.WriteRaw(moduleField);
        }

        writer.WriteRaw(Keys.Frames);
        writer.WriteRaw(framesValue);
    }

    /// <summary>A key and its string value, as <see cref="WriteException(ref MessagePackWriter, byte[], string, byte[], byte[])"/> takes them.</summary>
    internal static byte[] EncodeField(string key, string value)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + (value.Length * 3));
        var writer = new MessagePackWriter(buffer);
        writer.Write(key);
        writer.Write(Cut(value));
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteFrame(ref MessagePackWriter writer, StackFrameEntry frame)
    {
        // A package's frame keeps in_app as the SDK sent it before it knew packages (true), and says "package": servers before
        // grouping version 9 skip the field and group it as before, so upgrading the SDK alone splits no issue (docs/protocol.md).
        var package = frame.FromPackage && !frame.InApp;
        writer.WriteMapHeader(2 + Present(frame.Type) + Present(frame.Module) + Present(frame.File)
            + (frame.Line is null ? 0 : 1) + (frame.Column is null ? 0 : 1) + (frame.Wrapper ? 1 : 0) + (package ? 1 : 0));
        writer.WriteRaw(Keys.Function);
        WriteValue(ref writer, frame.Function);
        WriteOptional(ref writer, Keys.Type, frame.Type);
        WriteOptional(ref writer, Keys.Module, frame.Module);
        WriteOptional(ref writer, Keys.File, frame.File);
        if (frame.Line is { } line)
        {
            writer.WriteRaw(Keys.Line);
            writer.Write(line);
        }

        if (frame.Column is { } column)
        {
            writer.WriteRaw(Keys.Column);
            writer.Write(column);
        }

        writer.WriteRaw(Keys.InApp);
        writer.Write(frame.InApp || package);
        if (frame.Wrapper)
        {
            writer.WriteRaw(Keys.Wrapper);
            writer.Write(true);
        }

        if (package)
        {
            writer.WriteRaw(Keys.Package);
            writer.Write(true);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteStringMap(ref MessagePackWriter writer, byte[] key, IDictionary<string, string> map)
    {
        writer.WriteRaw(key);
        var left = Math.Min(map.Count, MaxEntries);
        writer.WriteMapHeader(left);
        if (map is Dictionary<string, string> dictionary)
        {
            foreach (var (name, value) in dictionary)
            {
                if (left-- == 0)
                {
                    return;
                }

                WriteValue(ref writer, name);
                WriteValue(ref writer, value ?? "");
            }

            return;
        }

        foreach (var (name, value) in map)
        {
            if (left-- == 0)
            {
                return;
            }

            WriteValue(ref writer, name);
            WriteValue(ref writer, value ?? "");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteStringPairs(ref MessagePackWriter writer, byte[] key, KeyValuePair<string, string>[] pairs)
    {
        writer.WriteRaw(key);
        writer.WriteMapHeader(pairs.Length);
        foreach (var (name, value) in pairs)
        {
            WriteValue(ref writer, name);
            WriteValue(ref writer, value ?? "");
        }
    }

    private static void WriteNameVersion(ref MessagePackWriter writer, NameAndVersion value)
    {
        writer.WriteMapHeader(Present(value.Name) + Present(value.Version));
        WriteOptional(ref writer, Keys.Name, value.Name);
        WriteOptional(ref writer, Keys.NameVersion, value.Version);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteOptional(ref MessagePackWriter writer, byte[] key, string? value)
    {
        if (value is not null)
        {
            writer.WriteRaw(key);
            WriteValue(ref writer, value);
        }
    }

    /// <summary>
    /// A string value, byte for byte as MessagePack's writer writes it: the smallest header (OldSpec off), then UTF-8. Most
    /// strings of an event are ASCII (names, URLs, tags): those are narrowed straight into the output, without the writer's
    /// worst-case sizing and transcoding calls, which were most of a short string's cost in a storm's profile
    /// (docs/benchmarks.md, section "storm8"). Any other string, and any longer than a str16 holds, goes to MessagePack's
    /// writer (a few KB once inlined, compiled here once).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void WriteValue(ref MessagePackWriter writer, string? value)
    {
        if (value is null || value.Length > ushort.MaxValue)
        {
            writer.Write(Cut(value));
            return;
        }

        var length = value.Length;
        var headerLength = length <= 31 ? 1 : length <= byte.MaxValue ? 2 : 3;
        var span = writer.GetSpan(headerLength + length);
        if (Ascii.FromUtf16(value, span.Slice(headerLength, length), out _) != OperationStatus.Done)
        {
            writer.Write(value); // not ASCII: nothing was committed, the writer starts over where this began
            return;
        }

        switch (headerLength)
        {
            case 1:
                span[0] = (byte)(MessagePackCode.MinFixStr | length);
                break;
            case 2:
                span[0] = MessagePackCode.Str8;
                span[1] = (byte)length;
                break;
            default:
                span[0] = MessagePackCode.Str16;
                BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
                break;
        }

        writer.Advance(headerLength + length);
    }

    /// <summary>
    /// A field whose value repeats from event to event (release, environment, server): its bytes are made once and
    /// written again while the value stays the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteRepeated(ref MessagePackWriter writer, byte[] key, string? value, ref Encoded<string>? last)
    {
        if (value is null)
        {
            return;
        }

        writer.WriteRaw(key);
        var cached = Volatile.Read(ref last);
        if (cached is null || !string.Equals(cached.Value, value, StringComparison.Ordinal))
        {
            var buffer = new ArrayBufferWriter<byte>(16 + (value.Length * 3));
            var valueWriter = new MessagePackWriter(buffer);
            valueWriter.Write(Cut(value));
            valueWriter.Flush();
            cached = new Encoded<string>(value, buffer.WrittenSpan.ToArray());
            Volatile.Write(ref last, cached);
        }

        writer.WriteRaw(cached.Bytes);
    }

    /// <summary>A name and version that repeats from event to event (runtime, OS): made once, as long as it is the same.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void WriteRepeated(ref MessagePackWriter writer, byte[] key, NameAndVersion value, ref Encoded<NameAndVersion>? last)
    {
        writer.WriteRaw(key);
        var cached = Volatile.Read(ref last);
        if (cached is null || !cached.Value.Equals(value))
        {
            var buffer = new ArrayBufferWriter<byte>(64);
            var valueWriter = new MessagePackWriter(buffer);
            WriteNameVersion(ref valueWriter, value);
            valueWriter.Flush();
            cached = new Encoded<NameAndVersion>(value, buffer.WrittenSpan.ToArray());
            Volatile.Write(ref last, cached);
        }

        writer.WriteRaw(cached.Bytes);
    }

    private static int Present(string? value) => value is null ? 0 : 1;

    /// <summary>
    /// Longest string the SDK sends, in UTF-16 characters: at most 192 KiB of UTF-8, under ingest's hard limit on one
    /// string (256 KiB, answered 400 for the whole batch), and eight times what ingest keeps of a message (8192
    /// characters), so a server that keeps more still gets more. A 1 MB exception message (a serialized payload, a
    /// dump) once cost every other event of its batch (docs/sdk.md, "What the SDK promises the app").
    /// </summary>
    internal const int MaxStringChars = 64 * 1024;

    /// <summary>
    /// Most entries the SDK writes in one map or array it does not bound itself (tags, extra and fingerprint that
    /// the app sets on the event, in <c>configure</c> or <c>BeforeSend</c>): ingest keeps 50 tags, 50 extra and 16
    /// fingerprint parts and answers 400 for the whole batch past 100,000 entries.
    /// </summary>
    internal const int MaxEntries = 1000;

    /// <summary><paramref name="value"/> cut to at most <paramref name="maxChars"/> characters, never between the halves of a surrogate pair.</summary>
    internal static string? Cut(string? value, int maxChars = MaxStringChars) =>
        value is null || value.Length <= maxChars ? value
            : value[..(char.IsHighSurrogate(value[maxChars - 1]) ? maxChars - 1 : maxChars)];

    private static byte[] LevelBytes(ErrorHubLevel level) => level switch
    {
        ErrorHubLevel.Debug => DebugLevel,
        ErrorHubLevel.Info => InfoLevel,
        ErrorHubLevel.Warning => WarningLevel,
        ErrorHubLevel.Fatal => FatalLevel,
        _ => ErrorLevel,
    };

    internal static string LevelName(ErrorHubLevel level) => level switch
    {
        ErrorHubLevel.Debug => "debug",
        ErrorHubLevel.Info => "info",
        ErrorHubLevel.Warning => "warning",
        ErrorHubLevel.Fatal => "fatal",
        _ => "error",
    };

    /// <summary>
    /// A string as MessagePack writes it (its header, then its UTF-8 bytes), made once with MessagePack's own writer:
    /// field names and fixed values are copied as they are, with no header worked out and no transcoding per event.
    /// </summary>
    private static byte[] StringBytes(string value)
    {
        var buffer = new ArrayBufferWriter<byte>(8 + Encoding.UTF8.GetMaxByteCount(value.Length));
        var writer = new MessagePackWriter(buffer);
        writer.WriteString(Encoding.UTF8.GetBytes(value));
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The field names, each as <see cref="StringBytes"/> makes it.</summary>
    private static class Keys
    {
        public static readonly byte[] Breadcrumbs = StringBytes(WireFields.Breadcrumbs);
        public static readonly byte[] Category = StringBytes(WireFields.Category);
        public static readonly byte[] Column = StringBytes(WireFields.Column);
        public static readonly byte[] Dropped = StringBytes(WireFields.Dropped);
        public static readonly byte[] Email = StringBytes(WireFields.Email);
        public static readonly byte[] Environment = StringBytes(WireFields.Environment);
        public static readonly byte[] EventId = StringBytes(WireFields.EventId);
        public static readonly byte[] Events = StringBytes(WireFields.Events);
        public static readonly byte[] Exceptions = StringBytes(WireFields.Exceptions);
        public static readonly byte[] Extra = StringBytes(WireFields.Extra);
        public static readonly byte[] File = StringBytes(WireFields.File);
        public static readonly byte[] Fingerprint = StringBytes(WireFields.Fingerprint);
        public static readonly byte[] Form = StringBytes(WireFields.Form);
        public static readonly byte[] Frames = StringBytes(WireFields.Frames);
        public static readonly byte[] Function = StringBytes(WireFields.Function);
        public static readonly byte[] Headers = StringBytes(WireFields.Headers);
        public static readonly byte[] Id = StringBytes(WireFields.Id);
        public static readonly byte[] InApp = StringBytes(WireFields.InApp);
        public static readonly byte[] Package = StringBytes(WireFields.Package);
        public static readonly byte[] IpAddress = StringBytes(WireFields.IpAddress);
        public static readonly byte[] Level = StringBytes(WireFields.Level);
        public static readonly byte[] Line = StringBytes(WireFields.Line);
        public static readonly byte[] Logger = StringBytes(WireFields.Logger);
        public static readonly byte[] Message = StringBytes(WireFields.Message);
        public static readonly byte[] Method = StringBytes(WireFields.Method);
        public static readonly byte[] Module = StringBytes(WireFields.Module);
        public static readonly byte[] Name = StringBytes(WireFields.Name);
        public static readonly byte[] NameVersion = StringBytes(WireFields.NameVersion);
        public static readonly byte[] Os = StringBytes(WireFields.Os);
        public static readonly byte[] Platform = StringBytes(WireFields.Platform);
        public static readonly byte[] QueryString = StringBytes(WireFields.QueryString);
        public static readonly byte[] Release = StringBytes(WireFields.Release);
        public static readonly byte[] Request = StringBytes(WireFields.Request);
        public static readonly byte[] Runtime = StringBytes(WireFields.Runtime);
        public static readonly byte[] Sdk = StringBytes(WireFields.Sdk);
        public static readonly byte[] ServerName = StringBytes(WireFields.ServerName);
        public static readonly byte[] Tags = StringBytes(WireFields.Tags);
        public static readonly byte[] Timestamp = StringBytes(WireFields.Timestamp);
        public static readonly byte[] Type = StringBytes(WireFields.Type);
        public static readonly byte[] Url = StringBytes(WireFields.Url);
        public static readonly byte[] User = StringBytes(WireFields.User);
        public static readonly byte[] Username = StringBytes(WireFields.Username);
        public static readonly byte[] Value = StringBytes(WireFields.Value);
        public static readonly byte[] Version = StringBytes(WireFields.Version);
        public static readonly byte[] Wrapper = StringBytes(WireFields.Wrapper);
    }

    private sealed record Encoded<T>(T Value, byte[] Bytes);
}
