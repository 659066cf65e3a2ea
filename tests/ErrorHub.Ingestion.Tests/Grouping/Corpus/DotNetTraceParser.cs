using System.Globalization;
using System.Text.RegularExpressions;
using ErrorHub.Protocol;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Tests.Grouping.Corpus;

/// <summary>
/// Reads a .NET exception as <c>Exception.ToString()</c> prints it (what people paste into issue
/// trackers) into the event the .NET SDK would have sent for it: the chain outermost first, each inner
/// exception after its parent, an AggregateException's further inner exceptions after the first one's
/// chain; frames nearest the throw first. Understands inner exceptions (" ---> ", "--- End of inner
/// exception stack trace ---", "(Inner Exception #1) ... &lt;---"), async separators, Mono's and the
/// localized runtimes' frame lines (at, bei, à, 在, 於, в, en, w, em, Swedish vid, Danish and Norwegian ved, Dutch bij, عند, 場所, Korean 위치:, Italian's in, Czech v), HRESULTs after the type, line numbers.
/// </summary>
internal static partial class DotNetTraceParser
{
    /// <summary>
    /// Namespaces the SDK's in-app rule (and a reasonable InAppExclude) leaves out: the platform and well-known libraries. Under
    /// Microsoft, as the SDK reads it, only Microsoft's products (<see cref="MicrosoftProducts"/>): Microsoft.eShopOnContainers is an app.
    /// </summary>
    private static readonly string[] NotInApp =
    [
        "System", "Internal", "Interop", "Mono", "MS", "Windows", "Newtonsoft", "Npgsql", "MySqlConnector", "MySql",
        "Pomelo", "Oracle", "SQLitePCL", "StackExchange.Redis", "StackExchange.Profiling", "MongoDB", "Dapper", "Polly", "Serilog",
        "NLog", "log4net", "AutoMapper", "MediatR", "FluentValidation", "Castle", "Autofac", "Grpc", "Google", "Azure", "Amazon",
        "RabbitMQ", "Confluent", "Hangfire", "Quartz", "Swashbuckle", "Xunit", "NUnit", "Moq", "Cassandra", "RestSharp", "Refit",
        "UnityEngine", "Xamarin", "Android", "Java",
    ];

    public static IncomingEvent Parse(string text)
    {
        var root = ReadTree(text);
        var flat = new List<ExceptionRecord>();
        Flatten(root, flat);
        return new IncomingEvent { EventId = Guid.NewGuid(), Exceptions = flat };
    }

    private static ExceptionNode ReadTree(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        ExceptionNode? root = null;
        var stack = new Stack<ExceptionNode>();
        ExceptionNode? messageOwner = null;
        var skipping = false;

        foreach (var raw in lines)
        {
            var trimmed = raw.Trim();
            if (trimmed.Length == 0)
            {
                continue;
            }

            var endsBranch = trimmed.EndsWith("<---", StringComparison.Ordinal);
            if (skipping)
            {
                // .NET Framework repeats the first inner exception as "(Inner Exception #0) ... <---".
                skipping = !endsBranch;
                continue;
            }

            if (endsBranch)
            {
                trimmed = trimmed[..^4].TrimEnd();
            }

            if (trimmed.StartsWith("---", StringComparison.Ordinal) && !trimmed.StartsWith("--->", StringComparison.Ordinal))
            {
                // "--- End of inner exception stack trace ---" (and its translations) closes the inner
                // exception; "--- End of stack trace from previous location ---" only marks an await.
                if (IsEndOfInner(trimmed) && stack.Count > 1)
                {
                    stack.Pop();
                }

                messageOwner = null;
            }
            else if (trimmed.StartsWith("--->", StringComparison.Ordinal))
            {
                var header = trimmed[4..].Trim();
                var sibling = AggregateSibling().Match(header);
                if (sibling.Success)
                {
                    // A further inner exception of the AggregateException: back to the aggregate first.
                    while (stack.Count > 1 && !stack.Peek().IsAggregate)
                    {
                        stack.Pop();
                    }

                    if (sibling.Groups["index"].Value == "0" && stack.Peek().Inner.Count > 0)
                    {
                        skipping = !endsBranch;
                        continue;
                    }

                    header = header[sibling.Length..].Trim();
                }

                messageOwner = StartChain(header, stack, ref root);
            }
            else if (FrameLine().Match(trimmed) is { Success: true } frame && stack.Count > 0)
            {
                stack.Peek().Frames.Add(ParseFrame(frame.Groups["rest"].Value));
                messageOwner = null;
            }
            else if (root is null)
            {
                messageOwner = StartChain(trimmed, stack, ref root);
            }
            else if (messageOwner is not null && trimmed.IndexOf(" ---> ", StringComparison.Ordinal) is var arrow and > 0
                && Header().Match(trimmed[(arrow + 6)..]) is { Success: true } inner && inner.Groups["type"].Value.Contains('.', StringComparison.Ordinal))
            {
                // .NET Framework's one-line chain after a message of several lines: "A: x\ny ---> B: z" (ToString appends the
                // inner exception right after the outer message's last line).
                messageOwner.Message += "\n" + trimmed[..arrow];
                messageOwner = StartChain(trimmed[(arrow + 6)..], stack, ref root);
            }
            else if (messageOwner is not null)
            {
                // A message of several lines.
                messageOwner.Message += "\n" + trimmed;
            }

            if (endsBranch && stack.Count > 1)
            {
                stack.Pop();
            }
        }

        return root ?? throw new FormatException("No exception in the trace.");
    }

    /// <summary>".NET Framework" writes a whole chain of headers on one line: "A: x ---> B: y ---> C: z".</summary>
    private static ExceptionNode StartChain(string headers, Stack<ExceptionNode> stack, ref ExceptionNode? root)
    {
        ExceptionNode? last = null;
        foreach (var header in headers.Split(" ---> ", StringSplitOptions.TrimEntries))
        {
            last = ParseHeader(header);
            if (root is null)
            {
                root = last;
            }
            else
            {
                stack.Peek().Inner.Add(last);
            }

            stack.Push(last);
        }

        return last!;
    }

    private static ExceptionNode ParseHeader(string header)
    {
        var match = Header().Match(header);
        if (!match.Success)
        {
            return new ExceptionNode(header.Trim(), "");
        }

        return new ExceptionNode(match.Groups["type"].Value, match.Groups["message"].Value.Trim());
    }

    private static FrameRecord ParseFrame(string text)
    {
        // "Ns.Type.Method(Args) in File:line 12", Mono's "Ns.Type.Method (Args) [0x00012] in <mvid>:0".
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var name = (open >= 0 ? text[..open] : text).Trim();
        var rest = open >= 0 ? text[open..] : "";
        var (type, function) = SplitName(name);

        int? line = null;
        string? file = null;
        var location = Location().Match(rest);
        if (location.Success)
        {
            file = location.Groups["file"].Value.Trim();
            line = int.Parse(location.Groups["line"].Value, CultureInfo.InvariantCulture);
            if (line == 0 || file.StartsWith('<'))
            {
                (file, line) = (null, null);
            }
        }

        return new FrameRecord(function, type, null, file, line, null, InApp: type is not null && !IsLibrary(type));
    }

    /// <summary>Splits "Ns.Type`1+Nested.Method[T]" at the last dot outside angle and square brackets.</summary>
    private static (string? Type, string Function) SplitName(string name)
    {
        if (name.StartsWith("lambda_method", StringComparison.Ordinal) || name == "CallSite.Target")
        {
            return (null, name);
        }

        var ctor = name.IndexOf("..ctor", StringComparison.Ordinal);
        if (ctor < 0)
        {
            ctor = name.IndexOf("..cctor", StringComparison.Ordinal);
        }

        int split;
        if (ctor > 0)
        {
            split = ctor;
        }
        else
        {
            split = -1;
            var depth = 0;
            for (var i = 0; i < name.Length; i++)
            {
                switch (name[i])
                {
                    case '<' or '[': depth++; break;
                    case '>' or ']': depth--; break;
                    case '.' when depth == 0: split = i; break;
                }
            }
        }

        if (split <= 0)
        {
            return (null, name);
        }

        if (ctor < 0 && ExplicitInterfaceStart(name) is > 0 and var start)
        {
            split = start - 1;
        }

        var function = name[(split + 1)..];
        var generic = function.IndexOf('[', StringComparison.Ordinal);
        if (generic > 0)
        {
            function = function[..generic];
        }

        return (NestGeneratedTypes(name[..split]), function);
    }

    /// <summary>
    /// Where the method's name starts in an explicit interface implementation: the compiler names such a method after the
    /// interface in full ("Socket.AwaitableSocketAsyncEventArgs.System.Threading.Tasks.Sources.IValueTaskSource.GetResult"),
    /// and the SDK sends that as the method of the declaring type. Known by the interface (I and a capital) before the
    /// method, whose namespace starts again with System, Microsoft or the declaring type's own root after the declaring type's
    /// namespace and name; -1 when it is not one.
    /// </summary>
    private static int ExplicitInterfaceStart(string name)
    {
        var starts = new List<int> { 0 };
        var depth = 0;
        for (var i = 0; i < name.Length; i++)
        {
            switch (name[i])
            {
                case '<' or '[': depth++; break;
                case '>' or ']': depth--; break;
                case '.' when depth == 0: starts.Add(i + 1); break;
            }
        }

        var segments = starts.Select((s, i) => name[s..(i + 1 < starts.Count ? starts[i + 1] - 1 : name.Length)]).ToList();
        var iface = segments.Count >= 4 ? segments[^2] : "";
        if (iface.Length < 2 || iface[0] != 'I' || !char.IsUpper(iface[1]))
        {
            return -1;
        }

        // A declaring type has a namespace: "ABI.Microsoft.UI.Xaml.Controls.ITextBlockMethods.set_Text" is a projection class
        // named like an interface, in the ABI namespace, not ABI implementing an interface.
        for (var j = 2; j < segments.Count - 2; j++)
        {
            if (segments[j] is "System" or "Microsoft" || segments[j] == segments[0])
            {
                return starts[j];
            }
        }

        return -1;
    }

    /// <summary>
    /// ToString() joins nested types with dots; the SDK sends reflection names with '+'. The compiler's
    /// types (display classes, state machines, "&lt;&gt;c") are always nested, so those are rejoined with '+'.
    /// </summary>
    private static string NestGeneratedTypes(string type)
    {
        var segments = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < type.Length; i++)
        {
            switch (type[i])
            {
                case '<' or '[': depth++; break;
                case '>' or ']': depth--; break;
                case '.' when depth == 0:
                    segments.Add(type[start..i]);
                    start = i + 1;
                    break;
            }
        }

        segments.Add(type[start..]);
        var result = segments[0];
        for (var i = 1; i < segments.Count; i++)
        {
            result += (segments[i].StartsWith('<') ? "+" : ".") + segments[i];
        }

        return result;
    }

    private static bool IsLibrary(string type) =>
        MicrosoftProducts.Classify(type).IsProduct || NotInApp.Any(prefix => type.StartsWith(prefix, StringComparison.Ordinal) && (type.Length == prefix.Length || type[prefix.Length] is '.' or '+'));

    private static bool IsEndOfInner(string marker) =>
        marker.Contains("inner", StringComparison.OrdinalIgnoreCase)
        || marker.Contains("intern", StringComparison.OrdinalIgnoreCase)
        || marker.Contains("内部", StringComparison.Ordinal)
        || marker.Contains("внутреннего", StringComparison.OrdinalIgnoreCase)
        || marker.Contains("내부", StringComparison.Ordinal);

    private static void Flatten(ExceptionNode node, List<ExceptionRecord> into)
    {
        into.Add(new ExceptionRecord(node.Type, node.Message, null, node.Frames));
        foreach (var inner in node.Inner)
        {
            Flatten(inner, into);
        }
    }

    /// <summary>
    /// "at", and the word localized runtimes print instead (Japanese "場所", Traditional Chinese "於", Arabic "عند", Dutch "bij", Korean "위치:" with its colon); Italian prints "in", also the word
    /// before the file, and Czech "v", a word its messages use too, so only a line with an argument list is an Italian or Czech frame, never a message's line.
    /// A name may hold a hyphen: Visual Basic names its closures and lambdas so (<c>_Closure$__12-0._Lambda$__0</c>).
    /// </summary>
    [GeneratedRegex(@"^(?:(?:at|bei|à|在|於|в|en|w|em|vid|ved|bij|場所|عند|위치:)\s+(?<rest>[\w<>.`+\[\],$|-]+(?:\s*\(.*)?)|(?:in|v)\s+(?<rest>[\w<>.`+\[\],$|-]+\s*\(.*))$")]
    private static partial Regex FrameLine();

    /// <summary>"in File:line 12" and its translations ("Zeile", "ligne", "строка", "行号", Danish "linje", Dutch "regel", Korean "파일 File:줄 12"; German .NET Framework ends it with a period).</summary>
    [GeneratedRegex(@"\s(?:in|dans|位置|в|en|w|na|i|v|場所|파일)\s+(?<file>.+):(?:line|Zeile|ligne|строка|行号|línea|riga|wiersz|linha|rad|linje|řádek|行|regel|줄)\s*(?<line>\d+)\.?\s*$")]
    private static partial Regex Location();

    /// <summary>"Ns.Type: message", "Ns.Type (0x80004005): message", "Ns.Type (10061): message", or just "Ns.Type".</summary>
    [GeneratedRegex(@"^(?<type>[\w.+`\[\],]+?)(?:\s*\([^)]*\))?(?:\s*:\s?(?<message>.*))?$")]
    private static partial Regex Header();

    [GeneratedRegex(@"^\(Inner Exception #(?<index>\d+)\)\s*")]
    private static partial Regex AggregateSibling();

    private sealed class ExceptionNode(string type, string message)
    {
        public string Type { get; } = type;

        public string Message { get; set; } = message;

        public List<FrameRecord> Frames { get; } = [];

        public List<ExceptionNode> Inner { get; } = [];

        public bool IsAggregate => Type.EndsWith("AggregateException", StringComparison.Ordinal);
    }
}
