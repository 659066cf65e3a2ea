using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Protocol;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// Decides which issue an event belongs to (its fingerprint), what the fingerprint is made of (so
/// an issue can explain itself) and how the issue is titled. Version 10 (version 2's rules with more
/// general .NET knowledge, <see cref="GroupingRules"/>) groups by the root cause and where it was thrown
/// (docs/grouping.md); every event also carries the fingerprints of the versions before, so that issues
/// made before keep their events. Changing anything here that changes a fingerprint is a new version:
/// the pinned fingerprints in the grouping tests fail until it is.
/// </summary>
internal static partial class Grouper
{
    /// <summary>The version of the rules ingest groups by.</summary>
    public static int Version => GroupingRules.Current.Version;

    /// <summary>Longest title, the ellipsis included.</summary>
    internal const int MaxTitleChars = 200;

    /// <summary>Only the start of a long message is parameterized and hashed.</summary>
    internal const int MaxParameterizedChars = 1024;

    /// <summary>The pipeline's grouping step: reads only what the client sent about the failure.</summary>
    public static EventGrouping Group(IncomingEvent incoming) => Group(incoming, GroupingRules.Current);

    /// <summary>The grouping by one version's rules (tests pin each version's fingerprints).</summary>
    internal static EventGrouping Group(IncomingEvent incoming, GroupingRules rules)
    {
        var roots = RootCauses(incoming, rules);
        var components = Components(incoming, roots);
        var fingerprint = Hash(Counted(components));
        var legacy = LegacyFingerprints(incoming, rules, fingerprint);
        return new EventGrouping(
            fingerprint,
            rules.Version,
            Title(incoming, roots),
            TitleWrapper(incoming, roots),
            Culprit(incoming, roots, rules),
            components,
            legacy[0],
            legacy.Count > 1 ? legacy[1..] : null);
    }

    /// <summary>What the fingerprint is made of, counted or not, in the order it is hashed (docs/grouping.md).</summary>
    internal static IReadOnlyList<GroupingComponent> Components(IncomingEvent incoming) => Components(incoming, GroupingRules.Current);

    /// <summary>What one version's fingerprint is made of.</summary>
    internal static IReadOnlyList<GroupingComponent> Components(IncomingEvent incoming, GroupingRules rules) => Components(incoming, RootCauses(incoming, rules));

    /// <summary>
    /// The fingerprints the store files the event under when an issue with one of them exists, tried in
    /// order: each earlier version's that differs from this one's, newest first, then version 1's (issues
    /// made before version 2). An issue keeps the fingerprint it was made with, and the events a later
    /// version filed into it kept that fingerprint too, so an issue made by version 1 is found only by
    /// version 1's fingerprint even after version 2 has fed it: every version is tried, not only the last
    /// (docs/grouping.md, "Upgrading to version 3"). Earlier versions are computed only for events a
    /// version may group otherwise, so most events cost version 1's fingerprint alone, as before. The walk goes
    /// through every version, not only while each one may differ from the one before: an event a newer version
    /// groups as its predecessor may still be one an older version grouped otherwise.
    /// </summary>
    private static List<string> LegacyFingerprints(IncomingEvent incoming, GroupingRules rules, string fingerprint)
    {
        var fingerprints = new List<string>(2);
        for (var version = rules; version.Previous is { } previous; version = previous)
        {
            if (!version.MayDifferFromPrevious(incoming))
            {
                continue; // the previous version's fingerprint is this version's: nothing new to carry
            }

            var previousFingerprint = Hash(Counted(Components(incoming, RootCauses(incoming, previous))));
            if (previousFingerprint != fingerprint && !fingerprints.Contains(previousFingerprint))
            {
                fingerprints.Add(previousFingerprint);
            }
        }

        var versionOne = GroupingV1.Fingerprint(incoming);
        if (fingerprints.Count == 0 || (versionOne != fingerprint && !fingerprints.Contains(versionOne)))
        {
            fingerprints.Add(versionOne);
        }

        return fingerprints;
    }

    /// <summary>The strings that are hashed: "kind:value" of each counted component.</summary>
    internal static List<string> Counted(IEnumerable<GroupingComponent> components) =>
        components.Where(c => c.Counts).Select(c => $"{c.Kind}:{c.Value}").ToList();

    /// <summary>"{{ default }}", also written without or with more spaces.</summary>
    internal static bool IsDefaultPlaceholder(string part)
    {
        var text = part.AsSpan().Trim();
        return text.StartsWith("{{", StringComparison.Ordinal)
            && text.EndsWith("}}", StringComparison.Ordinal)
            && text.Length >= 4
            && text[2..^2].Trim().SequenceEqual("default");
    }

    /// <summary>A frame as the culprit and the app-frame component show it: "Namespace.Type.Method", names normalized.</summary>
    internal static string FrameKey(FrameRecord frame)
    {
        if (NormalizedNames.TypeAndFunction(frame.Type, frame.Function) is { } key)
        {
            return key;
        }

        var (_, function) = NormalizedNames.Normalize(frame.Type, frame.Function);

        // A client that sends no declaring type (not the .NET SDK) still tells methods of different modules apart.
        return string.IsNullOrEmpty(frame.Module) ? function : $"{frame.Module}!{function}";
    }

    /// <summary>
    /// Replaces the parts of a message that differ between occurrences of the same problem: version 1's
    /// replacements, and also file paths, dates and times, durations and key values in braces.
    /// </summary>
    internal static string Parameterize(string message)
    {
        var text = message.Length > MaxParameterizedChars ? message[..MaxParameterizedChars] : message;
        text = GroupingV1.UrlPattern().Replace(text, "<url>");
        text = GroupingV1.EmailPattern().Replace(text, "<email>");
        text = PathPattern().Replace(text, "<path>");
        text = GroupingV1.GuidPattern().Replace(text, "<guid>");
        text = DatePattern().Replace(text, "<date>");
        text = DurationPattern().Replace(text, "<duration>");
        text = GroupingV1.Ipv6Pattern().Replace(text, "<ip>");
        text = GroupingV1.Ipv4Pattern().Replace(text, "<ip>");
        text = GroupingV1.HexPattern().Replace(text, "<hex>");
        text = KeyPattern().Replace(text, "{<key>}");
        text = GroupingV1.NumberPattern().Replace(text, static m => m.Value.Contains('.', StringComparison.Ordinal) ? "<float>" : "<int>");
        text = GroupingV1.SingleQuotedPattern().Replace(text, "'<value>'");
        text = GroupingV1.DoubleQuotedPattern().Replace(text, "\"<value>\"");
        return text;
    }

    /// <summary>
    /// SHA-256 of the components, each preceded by its length so that no two different lists hash the
    /// same bytes (["a\nb"] and ["a", "b"] must not collide); the first 16 bytes as 32 hex digits.
    /// </summary>
    internal static string Hash(IEnumerable<string> components)
    {
        // Two hashes per event: the text is built in a buffer kept per thread and hashed from there, not copied to a
        // string and then to a byte array.
        var text = t_hashText ??= new ArrayBufferWriter<byte>(1024);
        text.ResetWrittenCount();
        Span<byte> length = stackalloc byte[11];
        foreach (var component in components)
        {
            var bytes = Encoding.UTF8.GetByteCount(component);
            bytes.TryFormat(length, out var digits, default, CultureInfo.InvariantCulture);
            text.Write(length[..digits]);
            text.Write(":"u8);
            Encoding.UTF8.GetBytes(component, text.GetSpan(bytes));
            text.Advance(bytes);
            text.Write("\n"u8);
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(text.WrittenSpan, hash);
        if (text.Capacity > 64 * 1024)
        {
            t_hashText = null; // one huge client fingerprint should not keep its buffer for the life of the thread
        }

        return Convert.ToHexStringLower(hash[..16]);
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_hashText;

    /// <summary>"System.Collections.Generic.KeyNotFoundException" → "KeyNotFoundException"; nested and generic types too.</summary>
    internal static string ShortTypeName(string typeName)
    {
        var normalized = NormalizedNames.NormalizeTypeName(typeName).TrimEnd('.');
        var shortName = normalized[(normalized.LastIndexOf('.') + 1)..];
        return shortName.Length > 0 ? shortName : typeName.Trim();
    }

    /// <summary>Whether any frame of the event says which assembly it is from, or that it is a package's: a client that reads assemblies tells libraries apart itself.</summary>
    internal static bool CarriesAssemblies(IncomingEvent incoming)
    {
        foreach (var exception in incoming.Exceptions)
        {
            foreach (var frame in exception.Frames)
            {
                if (frame.Package || !string.IsNullOrEmpty(frame.Module))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static List<RootCause> RootCauses(IncomingEvent incoming, GroupingRules rules)
    {
        if (incoming.Exceptions.Count == 0)
        {
            return [];
        }

        var nodes = ExceptionTree.Build(incoming.Exceptions).RootCauses(rules);
        var endpoint = rules.EntryPointHandlersByEndpoint ? EndpointName(incoming) : null;
        // Version 11 reads the handler tag only for a root cause whose handler was inlined: most events (a handler's own frame kept) do not pay for it.
        var handlerSource = rules.HandlerMethodStandsIn && endpoint is not null ? incoming : null;
        var ownLibrary = rules.OwnLibraryPassedOver && !CarriesAssemblies(incoming);
        var roots = new List<RootCause>(nodes.Count);
        foreach (var node in nodes)
        {
            roots.Add(RootCause.Of(node, rules, endpoint, handlerSource, ownLibrary));
        }

        return roots;
    }

    private static List<GroupingComponent> Components(IncomingEvent incoming, IReadOnlyList<RootCause> roots)
    {
        var clientFingerprint = incoming.Fingerprint;
        if (clientFingerprint is not { Count: > 0 } || clientFingerprint.All(IsDefaultPlaceholder))
        {
            return DefaultComponents(incoming, roots);
        }

        var components = new List<GroupingComponent>();
        foreach (var part in clientFingerprint)
        {
            if (IsDefaultPlaceholder(part))
            {
                components.AddRange(DefaultComponents(incoming, roots));
            }
            else
            {
                components.Add(new GroupingComponent(GroupingComponent.Client, part));
            }
        }

        return components;
    }

    /// <summary>
    /// Each root cause's key (several inner exceptions of an AggregateException each have their own),
    /// the same failure counted once and in a fixed order, so the order the tasks failed in does not matter.
    /// Without an exception: the logger and the parameterized message.
    /// </summary>
    private static List<GroupingComponent> DefaultComponents(IncomingEvent incoming, IReadOnlyList<RootCause> roots)
    {
        if (roots.Count == 0)
        {
            return
            [
                new GroupingComponent(GroupingComponent.Logger, incoming.Logger ?? ""),
                new GroupingComponent(GroupingComponent.Message, Parameterize(incoming.Message ?? "")),
            ];
        }

        if (roots.Count == 1)
        {
            return [.. roots[0].Components]; // one root cause: nothing to deduplicate or order
        }

        return roots
            .Select(root => root.Components)
            .DistinctBy(components => string.Join('\n', Counted(components)), StringComparer.Ordinal)
            .OrderBy(components => string.Join('\n', Counted(components)), StringComparer.Ordinal)
            .SelectMany(components => components)
            .ToList();
    }

    /// <summary>"ShortType: first line of the message" of the root cause, or the message's first line; at most 200 characters.</summary>
    private static string Title(IncomingEvent incoming, IReadOnlyList<RootCause> roots)
    {
        string title;
        if (roots.Count == 0)
        {
            title = FirstLine(incoming.Message ?? "");
            if (title.Length == 0)
            {
                title = "(no message)";
            }
        }
        else
        {
            var root = roots[0].Exception;
            var shortType = ShortTypeName(root.Type);
            var line = FirstLine(root.Value);
            title = line.Length == 0 ? shortType : $"{shortType}: {line}";
        }

        return Cut(title, MaxTitleChars);
    }

    /// <summary>The exception the app saw, when it is not the root cause: shown beside the title.</summary>
    private static string? TitleWrapper(IncomingEvent incoming, IReadOnlyList<RootCause> roots) =>
        roots.Count == 0 || ReferenceEquals(roots[0].Exception, incoming.Exceptions[0]) ? null : ShortTypeName(incoming.Exceptions[0].Type);

    /// <summary>Where it happened: the root cause's first app frame; else its throw site; else any frame; else the logger.</summary>
    private static string Culprit(IncomingEvent incoming, IReadOnlyList<RootCause> roots, GroupingRules rules)
    {
        if (roots.Count > 0 && roots[0].AppFrame is null && roots[0].HandlerInlined && EndpointName(incoming) is { } endpoint)
        {
            // Version 10: the handler's code ran inlined in the endpoint's request delegate; the route says which handler it was.
            // Version 11: a named handler method, as its frame would have said.
            return roots[0].InlinedHandler ?? endpoint;
        }

        if (roots.Count > 0 && roots[0].AppFrame is null && roots[0].LibraryHandler is { } libraryHandler)
        {
            // Version 14: the library's handler the request ran, not the library's method that threw under it.
            return libraryHandler;
        }

        if (roots.Count > 0 && (roots[0].AppFrame ?? roots[0].ThrowSite) is { } frame)
        {
            var key = FrameKey(frame);
            return EndpointHandlerName(incoming, frame, key, rules) ?? key;
        }

        var anyFrame = incoming.Exceptions.SelectMany(e => e.Frames).FirstOrDefault();
        return anyFrame is not null ? FrameKey(anyFrame) : incoming.Logger ?? "";
    }

    /// <summary>
    /// Tags the ASP.NET Core SDK names the request's endpoint with: its route template with the method, else its display
    /// name. The only tags grouping reads (<see cref="GroupingCache"/> keys on them).
    /// </summary>
    internal static readonly string[] EndpointTags = [RouteTag, EndpointTag];

    /// <summary>
    /// The handler method the ASP.NET Core SDK read from the endpoint's metadata (<c>Shop.Api.OrdersController.Get</c>, a minimal API's
    /// method group), as the app frame its own frame would make (normalized as frames are); null when the tag was not sent (older SDKs, a
    /// lambda handler, not a request), was filtered, or names no method of a type. Read by version 11 only where the handler was inlined.
    /// </summary>
    internal static string? HandlerMethod(IncomingEvent incoming)
    {
        if (incoming.Tags.Count == 0 || !incoming.Tags.TryGetValue(HandlerTag, out var tag) || tag == Scrubbing.EventScrubber.Filtered)
        {
            return null;
        }

        var name = tag.AsSpan().Trim();
        var dot = name.LastIndexOf('.');

        // A compiler-generated name (a lambda, a local function) is not a handler a frame would name apart from the others.
        if (dot <= 0 || dot == name.Length - 1 || name.Contains('<') || name.ContainsAny(" \t\r\n"))
        {
            return null;
        }

        var type = name[..dot].ToString();
        var method = name[(dot + 1)..].ToString();
        return NormalizedNames.TypeAndFunction(type, method) ?? $"{type}.{method}";
    }

    /// <summary>
    /// The frame of the request's handler method (<paramref name="handler"/>, as <see cref="HandlerMethod"/> reads it) where it is a library's,
    /// not the app's: a Razor page the Identity UI package brings (<c>...Identity.UI.V5.Pages.Account.Internal.LoginModel.OnPostAsync</c>), a
    /// controller of a package. Null when the handler is not in the stack (it never ran: a failure in middleware before it) or is the app's.
    /// Read only for an event with a route and a handler tag.
    /// </summary>
    internal static FrameRecord? LibraryHandlerFrame(IReadOnlyList<IReadOnlyList<FrameRecord>> sources, string handler, GroupingRules rules)
    {
        var dot = handler.LastIndexOf('.');
        var method = handler[(dot + 1)..];
        foreach (var frames in sources)
        {
            foreach (var frame in frames)
            {
                // The method's name first (an async method in the compiler's names is its state machine's MoveNext): FrameKey normalizes,
                // which allocates, and most frames are not the handler.
                if ((frame.Function.EndsWith(method, StringComparison.Ordinal) || frame.Function == "MoveNext")
                    && !DotNetFrames.IsApp(frame, rules) && string.Equals(FrameKey(frame), handler, StringComparison.Ordinal))
                {
                    return frame;
                }
            }
        }

        return null;
    }

    /// <summary>How the throw site is shown (not counted) when an inlined handler's code threw in the request delegate (version 10).</summary>
    internal const string InlinedHandlerSite = "lambda_method (the endpoint's request delegate, the handler inlined)";

    internal const string RouteTag = "route";
    internal const string EndpointTag = "endpoint";
    internal const string HandlerTag = "handler";

    /// <summary>
    /// A minimal API's handler is a lambda the compiler names after the method that mapped it, so every
    /// endpoint of an app reads <c>Program.Main.&lt;lambda&gt;</c>. When the culprit is such a lambda and the
    /// outermost frame of the app's code (the framework called it: it is the handler, not a lambda inside
    /// the app's own methods), the route (<c>POST /checkout/{bundle}</c>) or the endpoint's display name
    /// says where it happened; null when neither was sent or the frame is not a handler lambda.
    /// </summary>
    private static string? EndpointHandlerName(IncomingEvent incoming, FrameRecord frame, string key, GroupingRules rules)
    {
        if (!key.EndsWith(DotNetNames.LambdaSuffix, StringComparison.Ordinal))
        {
            return null;
        }

        var frames = incoming.Exceptions.Select(e => e.Frames).FirstOrDefault(list => list.Any(f => ReferenceEquals(f, frame)));
        if (frames is null || frames.SkipWhile(f => !ReferenceEquals(f, frame)).Skip(1).Any(f => DotNetFrames.IsApp(f, rules) && !DotNetFrames.IsNoise(f, rules)))
        {
            return null;
        }

        return EndpointName(incoming);
    }

    /// <summary>
    /// The request's endpoint as the ASP.NET Core SDK tags it: the route with the method (<c>POST /checkout/{bundle}</c>), else the
    /// endpoint's display name; null when neither was sent (not a request, another client) or the scrubber filtered it.
    /// </summary>
    internal static string? EndpointName(IncomingEvent incoming)
    {
        if (incoming.Tags.Count == 0)
        {
            return null;
        }

        foreach (var tag in EndpointTags)
        {
            if (incoming.Tags.TryGetValue(tag, out var name) && !string.IsNullOrWhiteSpace(name) && name != Scrubbing.EventScrubber.Filtered)
            {
                return name.Trim();
            }
        }

        return null;
    }

    private static string FirstLine(string text)
    {
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            var trimmed = line.Trim();
            if (HasVisibleCharacter(trimmed))
            {
                return trimmed.ToString();
            }
        }

        return "";
    }

    /// <summary>
    /// Whether a line shows anything: one made only of zero-width and blank characters (U+200B, U+FEFF, the braille
    /// blank, the Hangul fillers) would make an issue whose title cannot be seen or clicked.
    /// </summary>
    private static bool HasVisibleCharacter(ReadOnlySpan<char> line)
    {
        foreach (var c in line)
        {
            if (!char.IsWhiteSpace(c) && !char.IsControl(c)
                && char.GetUnicodeCategory(c) is not (System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.EnclosingMark)
                && c is not ('\u2800' or '\u3164' or '\u115F' or '\u1160' or '\uFFA0'))
            {
                return true;
            }
        }

        return false;
    }

    private static string Cut(string text, int maxChars)
    {
        if (text.Length <= maxChars)
        {
            return text;
        }

        var keep = maxChars - 1;
        if (char.IsHighSurrogate(text[keep - 1]))
        {
            keep--;
        }

        return string.Concat(text.AsSpan(0, keep).TrimEnd(), "…");
    }

    /// <summary>Windows drive and UNC paths, and Unix paths of at least two segments.</summary>
    [GeneratedRegex(@"(?<![\w/\\])(?:[A-Za-z]:\\|\\\\[\w.$-]+\\)[^\s'""<>|*?]*|(?<![\w/.:])(?:~|\.{1,2})?/(?:[\w.@+-]+/)+[\w.@+-]*", RegexOptions.CultureInvariant)]
    private static partial Regex PathPattern();

    /// <summary>Dates, with a time of day and zone when present (ISO 8601 and the invariant culture's forms).</summary>
    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|\s?[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}/\d{1,2}/\d{4}(?:\s\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AP]M)?)?", RegexOptions.CultureInvariant)]
    private static partial Regex DatePattern();

    /// <summary>TimeSpan's text ("00:01:40", "1.02:03:04.5") and times of day.</summary>
    [GeneratedRegex(@"(?<![\w:.])(?:\d+\.)?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?![\w:])", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    /// <summary>
    /// The .NET names a message quotes, in order, each once: "'Shop.Services.SlackService'", "'Order'"; only the
    /// namespace-qualified ones when <paramref name="dottedOnly"/>, where a short quoted word may as well be data ('admin').
    /// </summary>
    private static string QuotedNames(string message, bool dottedOnly = false, bool typeNamed = false)
    {
        var names = new List<string>();
        var text = message.Length > MaxParameterizedChars ? message[..MaxParameterizedChars] : message;
        foreach (Match match in QuotedName().Matches(text))
        {
            var name = match.Groups["name"].Value;
            if ((!dottedOnly || name.Contains('.', StringComparison.Ordinal) || (typeNamed && AfterWordType(text, match.Index)))
                && !names.Contains(name, StringComparer.Ordinal))
            {
                names.Add(name);
            }
        }

        return string.Join(", ", names);
    }

    /// <summary>Whether the text before <paramref name="quote"/> ends with the word "type" and a space ("entity type 'Order'").</summary>
    private static bool AfterWordType(string text, int quote)
    {
        var before = text.AsSpan(0, quote);
        return before.EndsWith("type ", StringComparison.OrdinalIgnoreCase) && (before.Length == 5 || !char.IsLetter(before[^6]));
    }

    /// <summary>
    /// The names a message gives, as <paramref name="rules"/> read them: the quoted ones (<see cref="QuotedNames"/>; without frames
    /// only namespace-qualified ones); version 6 adds, without frames, a short quoted name right after the word "type" ("entity type
    /// 'Order'": a type's name, never data), and with frames, the namespace-qualified type names printed without quotes (the trimmed
    /// runtime prints "ObjectDisposed_ObjectName_Name, Shop.Views.OrderPage"), after the quoted ones; <c>Quoted</c> says whether any
    /// name was read as version 5 read it.
    /// </summary>
    private static (string Names, bool Quoted) MessageNames(string message, GroupingRules rules, bool frameless)
    {
        var quoted = QuotedNames(message, dottedOnly: frameless, typeNamed: frameless && rules.TypeNamesWithoutFrames);
        if (frameless || !rules.UnquotedTypeNames || !MayPrintUnquotedTypeName(message))
        {
            return (quoted, true);
        }

        List<string> names = quoted.Length == 0 ? [] : [.. quoted.Split(", ")];
        foreach (Match match in UnquotedTypeName().Matches(message.Length > MaxParameterizedChars ? message[..MaxParameterizedChars] : message))
        {
            if (!names.Contains(match.Value, StringComparer.Ordinal))
            {
                names.Add(match.Value);
            }
        }

        return (string.Join(", ", names), quoted.Length > 0);
    }

    /// <summary>Whether the message prints a namespace-qualified type name without quotes (version 6 reads it); allocates nothing.</summary>
    internal static bool MayPrintUnquotedTypeName(string message)
    {
        var text = message.AsSpan(0, Math.Min(message.Length, MaxParameterizedChars));
        return text.Contains('.') && UnquotedTypeName().IsMatch(text);
    }

    /// <summary>Whether version 6 may read a short name quoted right after the word "type": a cheap test that errs on the side of yes.</summary>
    internal static bool MayQuoteTypeName(string message) =>
        message.AsSpan(0, Math.Min(message.Length, MaxParameterizedChars)).Contains("type ", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A namespace-qualified type name printed without quotes: two or more dotted identifiers, each starting with a capital letter
    /// as .NET names do (so host names, file names and version numbers are not read), not inside a quote, a path or a URL.
    /// </summary>
    [GeneratedRegex(@"(?<![\w.'""`‘’“”«»/\\:@-])[A-Z][A-Za-z0-9_]*(?:[.+][A-Z][A-Za-z0-9_]*)+(?![\w'""`‘’“”«»/\\-]|[.+]\w)", RegexOptions.CultureInvariant)]
    private static partial Regex UnquotedTypeName();

    /// <summary>Whether the message quotes a namespace-qualified name, as version 4 counts it without frames; allocates nothing.</summary>
    internal static bool QuotesDottedName(string message)
    {
        var text = message.AsSpan(0, Math.Min(message.Length, MaxParameterizedChars));
        foreach (var match in QuotedName().EnumerateMatches(text))
        {
            if (text.Slice(match.Index + 1, match.Length - 2).Contains('.'))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A quoted identifier or dotted name (with generic arity), not data: no spaces, dashes or leading digits.</summary>
    [GeneratedRegex(@"['""`‘’“”«»](?<name>[A-Za-z_][A-Za-z0-9_]*(?:[.+][A-Za-z_][A-Za-z0-9_]*)*(?:`\d+)?)['""`‘’“”«»]", RegexOptions.CultureInvariant)]
    private static partial Regex QuotedName();

    /// <summary>Key values as EF Core and dictionaries print them: "{Id: 42}", "{OrderId: 7, Line: 2}".</summary>
    [GeneratedRegex(@"\{[^{}\r\n]{1,200}\}", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();

    /// <summary>One root cause and where it was thrown.</summary>
    private sealed record RootCause(ExceptionRecord Exception, FrameRecord? ThrowSite, FrameRecord? AppFrame, List<GroupingComponent> Components,
        bool HandlerInlined = false, string? InlinedHandler = null, string? LibraryHandler = null)
    {
        /// <summary>
        /// The exception's type; where it was thrown: the first frame that is not a throw helper or
        /// plumbing, framework frames included, counted by component (a framework guard's place does
        /// not count, only where the app called it; a cancellation's does not either); and the first
        /// frame of the app's own code, and (version 9) the request's <paramref name="endpoint"/> when that frame is a lambda or local
        /// function of the entry point. Without either, the parameterized message. (Version 11) the handler method the endpoint's metadata
        /// names (the <paramref name="handlerSource"/> event's tag) counts as the app frame where the JIT inlined it into the endpoint's request delegate.
        /// </summary>
        public static RootCause Of(ExceptionTree node, GroupingRules rules, string? endpoint, IncomingEvent? handlerSource, bool ownLibrary = false)
        {
            var exception = node.Exception;
            var components = node.Wrappers.Reverse()
                .Select(wrapper => new GroupingComponent(GroupingComponent.Wrapper, ShortTypeName(wrapper.Exception.Type), Counts: false))
                .ToList();
            components.Add(new GroupingComponent(GroupingComponent.Type, DotNetFrames.ExceptionTypeKey(exception.Type, rules)));

            // An exception that was never thrown (attached as an inner exception) has no frames: the wrapper's tell where it surfaced.
            var sources = node.Wrappers.Prepend(node).Select(n => n.Exception.Frames).ToList();
            // Loops, not lambdas: these run for every event, and a lambda that captures the rules allocates each time.
            IReadOnlyList<FrameRecord> throwFrames = [];
            var throwIndex = -1;
            foreach (var frames in sources)
            {
                throwIndex = FirstNotNoise(frames, 0, rules);
                if (throwIndex >= 0)
                {
                    throwFrames = frames;
                    break;
                }
            }

            var throwSite = throwIndex >= 0 ? throwFrames[throwIndex] : null;
            var appFrame = FirstAppFrame(sources, rules);

            // Version 16: without assemblies, a text trace cannot tell a library's frames from the app's by any mark; the frames of the library
            // whose own exception this is are its, and the app frame is the first of other code below them, where the stack shows one.
            FrameRecord? libraryFrame = null;
            if (ownLibrary && appFrame is not null && DotNetFrames.IsOwnException(exception.Type, appFrame)
                && AppFrameBeyondLibrary(sources, appFrame, exception.Type, rules) is { } beyond)
            {
                libraryFrame = appFrame;
                appFrame = beyond;
            }

            // Version 12: a framework type's own throw helper stays a frame whatever the JIT inlined after it; its type threw.
            var helperOwner = rules.ThrowHelperOwnerThrew && throwIndex > 0 ? OwnTypesThrowHelper(throwFrames, throwIndex, rules) : null;

            // Version 10: no frame of the app's code, but the request delegate ASP.NET Core compiled for the endpoint is in the stack: the
            // handler it calls was inlined into it (a Release build's small handler). The endpoint stands for the handler, and the frames
            // beyond the delegate (the middleware that called it, which changes when the endpoint middleware is promoted to optimized code
            // and stops tail-calling it) are only how the request got there.
            var delegateIndex = endpoint is not null && rules.EndpointStandsForHandler && appFrame is null && throwIndex >= 0
                ? DotNetFrames.RequestDelegateIndex(throwFrames, rules)
                : -1;
            var handlerInlined = delegateIndex >= 0;
            var handler = handlerInlined && handlerSource is not null ? HandlerMethod(handlerSource) : null;

            // Version 14: no frame of the app's code, but the request's handler ran and is in the stack: a library's method (the Identity UI's
            // page models, a package's controller) that the app mounted as its endpoint. It says which of the app's endpoints failed.
            var libraryHandler = rules.LibraryHandlerStandsIn && appFrame is null && !handlerInlined && handlerSource is not null
                && HandlerMethod(handlerSource) is { } handlerName && LibraryHandlerFrame(sources, handlerName, rules) is not null
                ? handlerName
                : null;

            // Version 3: a UI framework's thread check at or above the throw site (its local throw helper is skipped as noise) is the guard.
            var threadCheck = ThreadCheckUpTo(throwFrames, throwIndex, rules);
            var refusedThread = threadCheck >= 0;
            var guardIndex = refusedThread ? threadCheck : throwIndex;

            // Version 15: where the exception's own library threw it and nothing else will tell the failure, the component that holds the throw site.
            var ownExceptionAt = -1;
            if (throwSite is not null && !DotNetFrames.IsApp(throwSite, rules))
            {
                if (DotNetFrames.IsCancellation(exception.Type))
                {
                    components.Add(new GroupingComponent(GroupingComponent.ThrowSite, DotNetFrames.ShortFrame(throwSite), Counts: false));
                }
                else if (refusedThread || DotNetFrames.IsGuard(throwSite, exception.Type))
                {
                    components.Add(new GroupingComponent(GroupingComponent.Guard, DotNetFrames.ShortFrame(throwFrames[guardIndex]), Counts: false));
                    var caller = appFrame is null ? FirstCaller(throwFrames, guardIndex + 1, rules) : null;
                    if (caller is not null)
                    {
                        // Version 10: a guard the inlined handler called directly: its caller is beyond the request delegate.
                        var beyondDelegate = handlerInlined && IndexOf(throwFrames, caller) > delegateIndex;
                        components.Add(new GroupingComponent(GroupingComponent.ThrowSite, DotNetFrames.ComponentName(caller), Counts: !beyondDelegate));
                    }
                }
                else
                {
                    // Version 7: a NullReferenceException is never thrown on purpose; it is a dereference in the method that threw it.
                    // Without the app's code in the stack, that method says which of the library's nulls it was, where its type alone
                    // made one issue of every null dereference anywhere in the type (Dapper's SqlMapper: thousands of lines).
                    var site = rules.NullDereferenceMethod && appFrame is null && DotNetFrames.IsNullDereference(exception.Type)
                        ? DotNetFrames.ShortFrame(throwSite)
                        : DotNetFrames.ComponentName(helperOwner ?? throwSite);
                    ownExceptionAt = rules.OwnExceptionMethod && appFrame is null && helperOwner is null && site != DotNetFrames.ShortFrame(throwSite)
                        && !(handlerInlined && throwIndex > delegateIndex) && DotNetFrames.IsOwnException(exception.Type, throwSite)
                        ? components.Count
                        : -1;

                    // Version 10: the request delegate threw itself (the inlined handler's own dereference or throw): what is beyond it is
                    // shown as the generated frame it was, not counted.
                    components.Add(handlerInlined && throwIndex > delegateIndex
                        ? new GroupingComponent(GroupingComponent.ThrowSite, InlinedHandlerSite, Counts: false)
                        : new GroupingComponent(GroupingComponent.ThrowSite, site));
                }
            }
            else if (libraryFrame is not null && throwSite is not null && !DotNetFrames.IsCancellation(exception.Type))
            {
                // Version 16: the library's frame that threw counts as a package's does, by its type.
                components.Add(new GroupingComponent(GroupingComponent.ThrowSite, DotNetFrames.ComponentName(throwSite)));
            }
            else if (throwSite is not null && helperOwner is not null && !DotNetFrames.IsCancellation(exception.Type) && !refusedThread
                && !DotNetFrames.IsGuard(helperOwner, exception.Type))
            {
                // Version 12: the framework's method that called its type's throw helper was inlined into the app's code (the helper's
                // frame is followed by the app's): it is the component that threw, as where its frame was kept.
                components.Add(new GroupingComponent(GroupingComponent.ThrowSite, DotNetFrames.ComponentName(helperOwner)));
            }

            GroupingComponent? unquotedOnly = null;
            if (appFrame is not null)
            {
                // Version 11: a lambda of any other method that the endpoint called as its handler (a route group's MapTodos maps
                // every endpoint of the group with lambdas, which all read MapTodos.<lambda>) is its endpoint's, as the entry point's are.
                var lambdaHandler = endpoint is not null
                    && (DotNetFrames.IsEntryPointLambda(appFrame) || (rules.HandlerMethodStandsIn && IsEndpointLambda(sources, appFrame, rules)));

                // Version 10: the route stands for the entry point's lambda, which the JIT may inline away (then no app frame is left,
                // below): counted, the frame would make the same handler two issues, one per build or runtime setting. A named method's
                // frame still counts: the same method may fail called by another handler, and is one issue whoever called it.
                components.Add(new GroupingComponent(GroupingComponent.AppFrame, FrameKey(appFrame), Counts: !(lambdaHandler && rules.EndpointStandsForHandler)));
                if (lambdaHandler)
                {
                    // Version 9: a minimal API's handlers are lambdas of the entry point, and their ordinals (dropped: they shift
                    // between builds) were all that told them apart, so every endpoint's crash was one issue. The route tells them
                    // apart and stays put across builds; a service method the handlers call is its own app frame and counts no route.
                    components.Add(new GroupingComponent(GroupingComponent.Endpoint, endpoint!));
                }
            }
            else if (handlerInlined && handler is not null)
            {
                // Version 11: a named method's frame, when the JIT keeps it, is the key (the method may also fail called by another
                // endpoint's handler, one issue whoever called it); inlined, the endpoint's metadata still names it, and it keys alike.
                components.Add(new GroupingComponent(GroupingComponent.AppFrame, handler));
                components.Add(new GroupingComponent(GroupingComponent.Endpoint, endpoint!, Counts: false));
            }
            else if (handlerInlined)
            {
                components.Add(new GroupingComponent(GroupingComponent.Endpoint, endpoint!));
            }
            else if (libraryHandler is not null)
            {
                // Version 14: keyed like an app frame of the handler (the same library page failing from two routes is one issue, as a method
                // of the app's is), the endpoint shown; the message's names are not read, as with an app frame.
                components.Add(new GroupingComponent(GroupingComponent.AppFrame, libraryHandler));
                components.Add(new GroupingComponent(GroupingComponent.Endpoint, endpoint!, Counts: false));
            }
            else if ((throwSite is not null || rules.FramelessNames) && MessageNames(exception.Value, rules, frameless: throwSite is null) is { Names.Length: > 0 } named)
            {
                // Without the app's code in the stack, what the framework failed on is named in the
                // message: the missing service, the entity type, the table. Names are not translated.
                // Version 4: also without any usable frame, where the parameterized message below lost them; there only
                // namespace-qualified names count, as a short quoted word there is as often a value ('admin', 'order42').
                var subject = new GroupingComponent(GroupingComponent.Subject, named.Names);
                components.Add(subject);
                unquotedOnly = named.Quoted ? null : subject;
            }

            if (rules.HttpStatus && throwSite is not null && HttpStatus.Of(exception.Type, exception.Value) is { } status)
            {
                // Version 5: one call of an HTTP client fails in several ways from the same frames; the status says which.
                // Without frames the message counts, status and all.
                components.Add(new GroupingComponent(GroupingComponent.Status, status));
            }

            if (rules.ComErrorCode && appFrame is not null && ComErrorCode.Of(exception.Type, exception.Value) is { } errorCode)
            {
                // Version 17: one interop call of the app's fails in several ways from the same frames, and beside an app frame the message
                // does not count; the HRESULT says which failure it was, in any language the message is printed in.
                components.Add(new GroupingComponent(ComErrorCode.Kind, errorCode));
            }

            if (unquotedOnly is not null && components.Count(c => c.Counts) == 2)
            {
                // Version 6: names read only without quotes count where nothing else tells the failure: where the message counts
                // (only the type did), they are in it already, and counting them instead would merge what its text told apart.
                components.Remove(unquotedOnly);
            }

            if (ownExceptionAt >= 0 && libraryHandler is null && !components.Exists(c => c.Counts && c.Kind is GroupingComponent.Subject or GroupingComponent.Status))
            {
                // Version 15: a library's own exception type says which library failed, not where: one lock type's failure to take a lock and to
                // release one were one issue. Its method says where; only where no name or status from the message tells the failure already,
                // as a library's methods are renamed and split between its releases more often than its types.
                components[ownExceptionAt] = components[ownExceptionAt] with { Value = DotNetFrames.ShortFrame(throwSite!) };
            }

            if (components.Count(c => c.Counts) == 1 || (throwSite is null && rules.FramelessNames))
            {
                components.Add(new GroupingComponent(GroupingComponent.Message, Parameterize(exception.Value)));
            }

            return new RootCause(exception, throwSite, appFrame, components, handlerInlined, handlerInlined ? handler : null, libraryHandler);
        }

        /// <summary>
        /// The framework type's own throw helper that threw (<see cref="DotNetFrames.IsOwnTypesThrowHelper"/>): the first before the throw site,
        /// nearest the throw, as the helpers after it only rethrew what came back (a <c>ValueTask.ThrowIfCompletedUnsuccessfully</c> that
        /// handed on a socket's failure); null when none threw.
        /// </summary>
        private static FrameRecord? OwnTypesThrowHelper(IReadOnlyList<FrameRecord> frames, int throwIndex, GroupingRules rules)
        {
            for (var i = 0; i < throwIndex; i++)
            {
                if (DotNetFrames.IsOwnTypesThrowHelper(frames[i], rules))
                {
                    return frames[i];
                }
            }

            return null;
        }

        private static bool IsEndpointLambda(List<IReadOnlyList<FrameRecord>> sources, FrameRecord appFrame, GroupingRules rules)
        {
            foreach (var frames in sources)
            {
                if (IndexOf(frames, appFrame) is var index and >= 0)
                {
                    return DotNetFrames.IsEndpointLambda(frames, index, rules);
                }
            }

            return false;
        }

        private static int IndexOf(IReadOnlyList<FrameRecord> frames, FrameRecord frame)
        {
            // By reference: frames are records, and two equal frames of one stack (recursion) are still two places.
            for (var i = 0; i < frames.Count; i++)
            {
                if (ReferenceEquals(frames[i], frame))
                {
                    return i;
                }
            }

            return -1;
        }

        private static int FirstNotNoise(IReadOnlyList<FrameRecord> frames, int from, GroupingRules rules)
        {
            for (var i = from; i < frames.Count; i++)
            {
                if (!DotNetFrames.IsNoise(frames[i], rules))
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>The first app frame past the exception's own library's frames (and an adapter right under them), or null where the report shows none.</summary>
        private static FrameRecord? AppFrameBeyondLibrary(List<IReadOnlyList<FrameRecord>> sources, FrameRecord libraryFrame, string exceptionType, GroupingRules rules)
        {
            foreach (var frames in sources)
            {
                var start = -1;
                for (var i = 0; i < frames.Count; i++)
                {
                    if (ReferenceEquals(frames[i], libraryFrame))
                    {
                        start = i;
                        break;
                    }
                }

                if (start < 0)
                {
                    continue;
                }

                for (var i = start + 1; i < frames.Count; i++)
                {
                    var frame = frames[i];
                    if (!DotNetFrames.IsApp(frame, rules) || DotNetFrames.IsNoise(frame, rules) || StartedMessageLoop(frames, i, rules))
                    {
                        continue;
                    }

                    if (DotNetFrames.IsOwnException(exceptionType, frame))
                    {
                        continue;
                    }

                    // The app's one adapter of the library's calls (a static *Extensions class) is below every place that reaches it.
                    if (DotNetFrames.ComponentName(frame).EndsWith("Extensions", StringComparison.Ordinal) && HasAppFrameAfter(frames, i, frame, rules))
                    {
                        continue;
                    }

                    return frame;
                }

                return null;
            }

            return null;
        }

        /// <summary>Whether an app frame of another type than the adapter's, and no adapter itself, follows it: only then is the adapter passed over.</summary>
        private static bool HasAppFrameAfter(IReadOnlyList<FrameRecord> frames, int index, FrameRecord adapter, GroupingRules rules)
        {
            var adapterType = adapter.Type;
            for (var i = index + 1; i < frames.Count; i++)
            {
                if (DotNetFrames.IsApp(frames[i], rules) && !DotNetFrames.IsNoise(frames[i], rules) && !StartedMessageLoop(frames, i, rules)
                    && !string.Equals(frames[i].Type, adapterType, StringComparison.Ordinal)
                    && !DotNetFrames.ComponentName(frames[i]).EndsWith("Extensions", StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        private static FrameRecord? FirstAppFrame(List<IReadOnlyList<FrameRecord>> sources, GroupingRules rules)
        {
            foreach (var frames in sources)
            {
                for (var i = 0; i < frames.Count; i++)
                {
                    var frame = frames[i];
                    if (DotNetFrames.IsApp(frame, rules) && !DotNetFrames.IsNoise(frame, rules) && !StartedMessageLoop(frames, i, rules))
                    {
                        return frame;
                    }
                }
            }

            return null;
        }

        /// <summary>
        /// Version 6: the entry point at <paramref name="index"/> only started a UI framework's message loop (the next frame
        /// toward the throw that is not noise is the loop), so it is below every event the app's windows handle and says
        /// nothing about which one failed: a report cut above it and one that shows it are the same failure.
        /// </summary>
        private static bool StartedMessageLoop(IReadOnlyList<FrameRecord> frames, int index, GroupingRules rules)
        {
            if (!rules.MessageLoopEntryIsNotApp || !DotNetFrames.IsEntryPoint(frames[index]))
            {
                return false;
            }

            for (var i = index - 1; i >= 0; i--)
            {
                if (!DotNetFrames.IsNoise(frames[i], rules))
                {
                    return DotNetFrames.IsMessageLoop(frames[i], rules);
                }
            }

            return false;
        }

        private static int ThreadCheckUpTo(IReadOnlyList<FrameRecord> frames, int last, GroupingRules rules)
        {
            if (!rules.ThreadChecksAreGuards)
            {
                return -1;
            }

            for (var i = 0; i <= last; i++)
            {
                if (DotNetFrames.IsThreadCheck(frames[i], rules))
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>
        /// The first framework frame above a guard that is neither noise nor another guard: what called it. Since version 7 a property
        /// setter is passed over when a frame above it qualifies: a setter hands its value on (a console wrapper's
        /// <c>set_CursorLeft</c> calls <c>Console.SetCursorPosition(value, ...)</c>), so the value the guard refused came from whoever
        /// set the property, and one failure set through the property or directly was keyed by two components.
        /// </summary>
        private static FrameRecord? FirstCaller(IReadOnlyList<FrameRecord> frames, int from, GroupingRules rules)
        {
            FrameRecord? setter = null;
            for (var i = from; i < frames.Count; i++)
            {
                var frame = frames[i];
                if (!DotNetFrames.IsNoise(frame, rules) && !DotNetFrames.IsGuard(frame, "") && !DotNetFrames.IsThreadCheck(frame, rules))
                {
                    if (rules.SettersPassTheirValue && DotNetFrames.IsPropertySetter(frame))
                    {
                        setter ??= frame;
                        continue;
                    }

                    return frame;
                }
            }

            return setter;
        }
    }
}

/// <summary>Which issue an event belongs to, how that issue is titled and why: the grouping step's result.</summary>
/// <param name="Fingerprint">32 hex digits; equal fingerprints are one issue.</param>
/// <param name="Version">The version of the rules that made it (<see cref="Grouper.Version"/>).</param>
/// <param name="TitleWrapper">The outermost exception's short type when the title names an inner root cause.</param>
/// <param name="Components">What the fingerprint is made of (the counted ones) and what was looked at but not counted.</param>
/// <param name="LegacyFingerprint">The previous version's fingerprint where it differs, else version 1's: the store files the event under it when that issue exists.</param>
/// <param name="EarlierLegacyFingerprints">Older versions' fingerprints (version 1's last), tried after <paramref name="LegacyFingerprint"/>; null when there are none.</param>
internal sealed record EventGrouping(
    string Fingerprint,
    int Version,
    string Title,
    string? TitleWrapper,
    string Culprit,
    IReadOnlyList<GroupingComponent> Components,
    string LegacyFingerprint,
    IReadOnlyList<string>? EarlierLegacyFingerprints = null);
