using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using ErrorHub.Protocol;
using ErrorHub.Transport;
using MessagePack;

namespace ErrorHub.Internal;

/// <summary>
/// Turns an exception and its inner exceptions into the event's exception chain with stack frames, in two steps.
/// On the capturing thread only what changes once the exception travels on is kept (<see cref="AddExceptions"/>):
/// the chain and each exception's frames as methods and IL offsets. Names, in-app flags, files and lines (read from
/// the portable PDBs) are made later, when the event's <see cref="ErrorHubEvent.Exceptions"/> is first read: by the
/// background sender as it encodes the event, or earlier by a BeforeSend that looks at them. What each method
/// resolves to is kept in bounded caches, so an app that fails in the same places pays for each place once.
/// </summary>
internal sealed class ExceptionConverter(ErrorHubOptions options, Func<PackageAssemblies> packages)
{
    public ExceptionConverter(ErrorHubOptions options)
        : this(options, static () => PackageAssemblies.Current)
    {
    }

    /// <summary>Chains longer than this are cut: a cycle or a pathological AggregateException must not blow up an event.</summary>
    internal const int MaxExceptions = 32;

    internal const int MaxFramesPerException = 200;

    /// <summary>
    /// Longest value (message) of each exception after the first in a chain: what ingest keeps of one (docs/protocol.md).
    /// Each at <see cref="EventWireWriter.MaxStringChars"/>, a chain of 32 long messages (nested aggregates, wrappers that
    /// repeat their inner message) made an event of 2 MB, larger than any batch: the whole report was dropped.
    /// </summary>
    internal const int MaxInnerValueChars = 8192;

    /// <summary>Most methods whose names and flags are remembered; beyond it they are worked out each time.</summary>
    internal const int MaxCachedMethods = 10_000;

    /// <summary>
    /// Never the app's code, unless InAppInclude says so. <c>Microsoft</c> is not here as a whole: only Microsoft's products
    /// (<see cref="MicrosoftProducts"/>) are excluded, so an app whose own code lives under <c>Microsoft.&lt;X&gt;</c> gets app frames.
    /// </summary>
    private static readonly string[] AlwaysExcluded = ["System", "Internal", "Interop"];

    /// <summary>The SDK's own assemblies: never the app's code, whatever namespace the app uses.</summary>
    private static readonly HashSet<string> SdkAssemblies = new(StringComparer.Ordinal) { "ErrorHub", "ErrorHub.AspNetCore" };

    private static readonly ConcurrentDictionary<Assembly, string?> AssemblyNames = new();

    // The InAppExclude list is read once: options are fixed for the life of the client, as everywhere in the SDK.
    private readonly string[] _excluded = [.. AlwaysExcluded, .. options.InAppExclude];
    private readonly string[] _included = [.. options.InAppInclude];
    private readonly ConcurrentDictionary<MethodBase, MethodFacts> _methods = new();
    private readonly ConcurrentDictionary<(string? Type, string Method, string? Assembly), MethodFacts> _namedMethods = new();

    // Read at the first frame that needs it (normally the sender's warm-up): the deps file is read once per process.
    private readonly Lazy<PackageAssemblies> _packages = new(packages, LazyThreadSafetyMode.ExecutionAndPublication);

    // What the wire writer gets for a frame (its whole map) and for an exception type, made once each.
    private readonly ConcurrentDictionary<(MethodBase Method, int ILOffset, bool ThrowSite), byte[]> _encodedFrames = new();
    private readonly ConcurrentDictionary<Type, EncodedTypeFields> _encodedTypes = new();
    private static readonly byte[] HiddenFrame = [];

    /// <summary>Most whole traces whose <c>frames</c> bytes are kept, and the most bytes they may hold together.</summary>
    internal const int MaxCachedTraces = 1_000;
    internal const int MaxCachedTraceBytes = 4 * 1024 * 1024;

    private readonly ConcurrentDictionary<TraceKey, byte[]> _encodedTraces = new(TraceKey.Comparer);
    private long _encodedTraceBytes;

    // Each thread that writes events looks traces up with a key of its own, refilled for every exception.
    [ThreadStatic]
    private static TraceKey? t_traceProbe;

    /// <summary>
    /// Keeps the chain of <paramref name="exception"/> with each exception's frames as they are now, for the event
    /// to turn into its <see cref="ErrorHubEvent.Exceptions"/> when first read. Cheap: no names, no symbol files.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddExceptions(ErrorHubEvent target, Exception exception)
    {
        if (exception.InnerException is null && exception is not AggregateException)
        {
            // Most exceptions come alone: no set of seen ones and no stack of pending ones to make for a chain of one.
            target.SetCapturedExceptions(new CapturedChain(this, [new CapturedException(exception, SourceLocations.Capture(exception))]));
            return;
        }

        var chain = new List<CapturedException>();
        var seen = new HashSet<Exception>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<Exception>();
        pending.Push(exception);
        while (pending.Count > 0 && chain.Count < MaxExceptions)
        {
            var current = pending.Pop();
            if (!seen.Add(current))
            {
                continue;
            }

            // The exception's own trace grows while it travels on (further frames, rethrows through awaits): the
            // frames are taken now, as methods and offsets, which is what the report must show.
            chain.Add(new CapturedException(current, SourceLocations.Capture(current)));
            if (current is AggregateException aggregate)
            {
                for (var i = aggregate.InnerExceptions.Count - 1; i >= 0; i--)
                {
                    pending.Push(aggregate.InnerExceptions[i]);
                }
            }
            else if (current.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }

        target.SetCapturedExceptions(new CapturedChain(this, chain));
    }

    /// <summary>The chain as event entries; never throws (an exception it cannot read becomes an entry without frames).</summary>
    internal List<ExceptionEntry> ToEntries(List<CapturedException> chain)
    {
        var entries = new List<ExceptionEntry>(chain.Count);
        foreach (var captured in chain)
        {
            entries.Add(Convert(captured, isFirst: entries.Count == 0));
        }

        return entries;
    }

    /// <summary>
    /// Writes the chain as <see cref="ToEntries"/> and the wire writer together would, byte for byte, without making
    /// the entries: each frame's bytes are made once per method, IL offset and throw site, each whole trace's once,
    /// and then copied, and each exception type's name and module once per type. Never throws (as <see cref="ToEntries"/>).
    /// </summary>
    /// <remarks>Part of the event's encoding: compiled optimized at its first call, by the SDK's warm-up (see Transport.EventPathWarmUp).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Write(ref MessagePackWriter writer, List<CapturedException> chain)
    {
        writer.WriteArrayHeader(chain.Count);
        for (var i = 0; i < chain.Count; i++)
        {
            var captured = chain[i];
            var fields = TypeFields(captured.Exception.GetType());
            EventWireWriter.WriteException(ref writer, fields.Type, Value(captured.Exception, isFirst: i == 0), fields.Module, EncodedTrace(captured.Trace));
        }
    }

    /// <summary>
    /// An exception's whole <c>frames</c> array as bytes. A storm throws the same exception from the same place again
    /// and again: its trace (every frame's method and IL offset) is then found with one look-up and copied whole,
    /// instead of one look-up per frame. Bounded in count and bytes; beyond that, traces are written frame by frame.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private byte[] EncodedTrace(StackTrace trace)
    {
        var probe = t_traceProbe ??= new TraceKey();
        if (!probe.TryFill(trace))
        {
            return EventWireWriter.EncodeFrames(EncodedFrames(trace, out _));
        }

        if (_encodedTraces.TryGetValue(probe, out var cached))
        {
            return cached;
        }

        var bytes = EventWireWriter.EncodeFrames(EncodedFrames(trace, out var complete));
        if (complete && _encodedTraces.Count < MaxCachedTraces && Volatile.Read(ref _encodedTraceBytes) + bytes.Length <= MaxCachedTraceBytes
            && _encodedTraces.TryAdd(probe.Copy(), bytes))
        {
            Interlocked.Add(ref _encodedTraceBytes, bytes.Length);
        }

        return bytes;
    }

    private List<byte[]> EncodedFrames(StackTrace trace, out bool complete)
    {
        complete = false;
        var frames = new List<byte[]>(Math.Min(trace.FrameCount, MaxFramesPerException));
        try
        {
            var count = Math.Min(trace.FrameCount, MaxFramesPerException);
            for (var i = 0; i < count; i++)
            {
                if (trace.GetFrame(i) is not { } frame)
                {
                    continue;
                }

                if (MethodOf(frame) is not { } method)
                {
                    // Nothing to key the bytes by: a frame known by its name only (NativeAOT) is encoded each time.
                    if (ToNamedFrame(frame) is { } named)
                    {
                        frames.Add(EventWireWriter.EncodeFrame(named));
                    }

                    continue;
                }

                var key = (method, frame.GetILOffset(), frames.Count == 0);
                if (!_encodedFrames.TryGetValue(key, out var bytes))
                {
                    bytes = ToEventFrame(frame, isThrowSite: frames.Count == 0) is { } entry ? EventWireWriter.EncodeFrame(entry) : HiddenFrame;
                    if (_encodedFrames.Count < SourceLocations.MaxCachedLocations)
                    {
                        _encodedFrames.TryAdd(key, bytes);
                    }
                }

                if (bytes.Length > 0)
                {
                    frames.Add(bytes);
                }
            }

            complete = true;
        }
        catch (Exception)
        {
            // As in Convert: the frames read so far (and not kept as the trace's bytes).
        }

        return frames;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private EncodedTypeFields TypeFields(Type type)
    {
        if (_encodedTypes.TryGetValue(type, out var fields))
        {
            return fields;
        }

        var module = AssemblyName(type.Assembly);
        fields = new EncodedTypeFields(
            EventWireWriter.EncodeField(WireFields.Type, type.FullName ?? type.Name),
            module is null ? null : EventWireWriter.EncodeField(WireFields.Module, module));
        if (_encodedTypes.Count < MaxCachedMethods)
        {
            _encodedTypes.TryAdd(type, fields);
        }

        return fields;
    }

    /// <summary>
    /// Whether <paramref name="exception"/> was thrown (it has frames) and none of its frames is the app's yet: a library
    /// that logs a failure in its catch block before throwing it on (EF Core's failed query) reports it before it has
    /// unwound into the app's code. Reads only each frame's method facts (remembered per method), never symbol files.
    /// </summary>
    internal bool NotYetInApp(Exception exception)
    {
        try
        {
            var trace = new StackTrace(exception, fNeedFileInfo: false);
            var count = Math.Min(trace.FrameCount, MaxFramesPerException);
            var thrown = false;
            for (var i = 0; i < count; i++)
            {
                var frame = trace.GetFrame(i);
                if ((MethodOf(frame) is { } method ? Facts(method) : NamedFacts(frame)) is not { Hidden: false } facts)
                {
                    continue;
                }

                if (facts.InApp)
                {
                    return false;
                }

                thrown = true;
            }

            return thrown;
        }
        catch (Exception)
        {
            return false; // unreadable frames: sent as they are, as before
        }
    }

    private ExceptionEntry Convert(CapturedException captured, bool isFirst)
    {
        var type = captured.Exception.GetType();
        var result = new ExceptionEntry
        {
            Type = type.FullName ?? type.Name,
            Value = Value(captured.Exception, isFirst),
            Module = AssemblyName(type.Assembly),
        };

        try
        {
            var trace = captured.Trace;
            var count = Math.Min(trace.FrameCount, MaxFramesPerException);
            for (var i = 0; i < count; i++)
            {
                if (trace.GetFrame(i) is { } frame && ToEventFrame(frame, isThrowSite: result.Frames.Count == 0) is { } eventFrame)
                {
                    result.Frames.Add(eventFrame);
                }
            }
        }
        catch (Exception)
        {
            // Reflection over a method that is being unloaded, or a symbol file that changed under us: the report
            // keeps the type, the message and the frames read so far.
        }

        return result;
    }

    private StackFrameEntry? ToEventFrame(StackFrame frame, bool isThrowSite)
    {
        if (MethodOf(frame) is not { } method)
        {
            return ToNamedFrame(frame);
        }

        var facts = Facts(method);
        if (facts.Hidden)
        {
            return null;
        }

        var location = SourceLocations.Find(frame, method);
        return new StackFrameEntry
        {
            Function = facts.Function,
            Type = facts.Type,
            Module = facts.Module,
            File = location.File,
            Line = location.Line > 0 ? location.Line : null,
            Column = location.Column > 0 ? location.Column : null,
            InApp = facts.InApp,
            FromPackage = facts.FromPackage,
            // Where the failure happened is never a wrapper, even in a middleware. A package's middleware is marked as the
            // SDK marked it before it knew packages, so that servers grouping by the old rules see the same frame.
            Wrapper = (facts.InApp || facts.FromPackage) && !isThrowSite && facts.IsMiddleware,
        };
    }

    private MethodFacts Facts(MethodBase method)
    {
        if (_methods.TryGetValue(method, out var facts))
        {
            return facts;
        }

        facts = ReadFacts(method);
        if (_methods.Count < MaxCachedMethods)
        {
            _methods.TryAdd(method, facts);
        }

        return facts;
    }

    private MethodFacts ReadFacts(MethodBase method)
    {
        // Frames the runtime marks as hidden (async plumbing, ExceptionDispatchInfo rethrows) are noise.
        if (method.IsDefined(typeof(StackTraceHiddenAttribute), inherit: false)
            || (method.DeclaringType?.IsDefined(typeof(StackTraceHiddenAttribute), inherit: false) ?? false))
        {
            return MethodFacts.HiddenFrame;
        }

        var (type, function) = DotNetNames.Normalize(method.DeclaringType?.FullName, method.Name);
        var module = AssemblyName(method.Module.Assembly);
        var (inApp, fromPackage) = Ownership(type, module);
        return new MethodFacts(Hidden: false, type, function, module, inApp, fromPackage,
            IsMiddleware: (inApp || fromPackage) && IsMiddleware(ResolveStateMachine(method)));
    }

    private (bool InApp, bool FromPackage) Ownership(string? type, string? module)
    {
        var included = false;
        var byNamespace = !SdkAssemblies.Contains(module ?? "") && IsInApp(type, out included);

        // A NuGet package's code is a library's whatever its namespace, unless InAppInclude names it (a company shipping its
        // own code as packages). Only frames the namespaces would mark in-app are looked up: a package under System stays as it was.
        var fromPackage = byNamespace && !included && PackagesOrNone().Contains(module);
        return (byNamespace && !fromPackage, fromPackage);
    }

    /// <summary>
    /// A frame whose method has no reflection metadata, named from the stack trace data instead. NativeAOT keeps metadata
    /// only for methods that reflection is known to ask for, so there most of the app's own frames have no method at all;
    /// their names are still in the data the compiler writes for <see cref="Exception.StackTrace"/>, which
    /// <c>DiagnosticMethodInfo</c> reads (.NET 9 on). Such a frame is named and marked the app's or a package's as any
    /// other; it has no file or line (a native executable has no portable PDB) and is never taken for a middleware (its
    /// parameters are unknown). Until December 2026 these frames were left out, and a NativeAOT app's events had hardly
    /// any frame of the app.
    /// </summary>
    private StackFrameEntry? ToNamedFrame(StackFrame frame)
    {
        if (NamedFacts(frame) is not { Hidden: false } facts)
        {
            return null;
        }

        return new StackFrameEntry
        {
            Function = facts.Function,
            Type = facts.Type,
            Module = facts.Module,
            InApp = facts.InApp,
            FromPackage = facts.FromPackage,
        };
    }

    /// <summary>Whether a frame without a method can still be named (see <see cref="ToNamedFrame"/>).</summary>
    internal static bool HasName(StackFrame? frame) => NameOf(frame) is not null;

    private MethodFacts? NamedFacts(StackFrame? frame)
    {
        if (NameOf(frame) is not { } name)
        {
            return null;
        }

        if (_namedMethods.TryGetValue(name, out var facts))
        {
            return facts;
        }

        var (type, function) = DotNetNames.Normalize(name.Type, name.Method);
        var module = name.Assembly is { } assembly && assembly.IndexOf(',', StringComparison.Ordinal) is var comma and >= 0
            ? assembly[..comma].Trim()
            : name.Assembly;
        var (inApp, fromPackage) = Ownership(type, module);
        facts = new MethodFacts(Hidden: false, type, function, module, inApp, fromPackage, IsMiddleware: false);
        if (_namedMethods.Count < MaxCachedMethods)
        {
            _namedMethods.TryAdd(name, facts);
        }

        return facts;
    }

    private static (string? Type, string Method, string? Assembly)? NameOf(StackFrame? frame)
    {
#if NET9_0_OR_GREATER
        try
        {
            return frame is not null && DiagnosticMethodInfo.Create(frame) is { } info && !string.IsNullOrEmpty(info.Name)
                ? (info.DeclaringTypeName, info.Name, info.DeclaringAssemblyName)
                : null;
        }
        catch (Exception)
        {
            return null;
        }
#else
        // .NET 8 has no DiagnosticMethodInfo: a frame without a method is left out.
        _ = frame;
        return null;
#endif
    }

    private static string? AssemblyName(Assembly assembly)
    {
        if (AssemblyNames.TryGetValue(assembly, out var name))
        {
            return name;
        }

        name = assembly.GetName().Name;
        if (AssemblyNames.Count < MaxCachedMethods)
        {
            AssemblyNames.TryAdd(assembly, name);
        }

        return name;
    }

    /// <summary>
    /// An app's own middleware (a class with Invoke/InvokeAsync(HttpContext, ...), or a lambda given to app.Use that
    /// takes the context and the next step) only passes failures on. Whether the exception is captured inside it
    /// (a catch-all that logs) or beyond it (UseErrorHub placed after it) must not change the issue, so grouping
    /// skips it. Compared by name: the core package does not reference ASP.NET Core.
    /// </summary>
    internal static bool IsMiddleware(MethodBase method)
    {
        ParameterInfo[] parameters;
        try
        {
            parameters = method.GetParameters();
        }
        catch (Exception)
        {
            return false;
        }

        if (parameters.Length == 0 || parameters[0].ParameterType.FullName != "Microsoft.AspNetCore.Http.HttpContext")
        {
            return false;
        }

        if (method.Name is "Invoke" or "InvokeAsync")
        {
            return true;
        }

        return parameters.Length >= 2
            && (parameters[1].ParameterType.FullName == "Microsoft.AspNetCore.Http.RequestDelegate" || parameters[1].ParameterType == typeof(Func<Task>));
    }

    /// <summary>
    /// The method a frame ran. In a trimmed app (a published Blazor WebAssembly app) that method was kept, since it ran; what
    /// trimming may have removed is metadata nothing used, and then the frame has no method and is left out, as a frame
    /// without one always is.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "A method on the stack ran, so the trimmer kept it; a frame without one is skipped.")]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static MethodBase? MethodOf(StackFrame? frame) => frame?.GetMethod();

    /// <summary>An async method's frame is its state machine's MoveNext; the method written in the code is what counts.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification =
        "The async method whose state machine is on the stack was called, so the trimmer kept it; not found, the frame keeps MoveNext's name.")]
    private static MethodBase ResolveStateMachine(MethodBase method)
    {
        if (method.Name != "MoveNext" || method.DeclaringType is not { } machine || machine.DeclaringType is not { } owner
            || !typeof(IAsyncStateMachine).IsAssignableFrom(machine))
        {
            return method;
        }

        foreach (var candidate in owner.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
        {
            if (candidate.GetCustomAttribute<AsyncStateMachineAttribute>(inherit: false)?.StateMachineType == machine)
            {
                return candidate;
            }
        }

        return method;
    }

    /// <summary>The packages, or none when they cannot be read: reporting never fails over them.</summary>
    private PackageAssemblies PackagesOrNone()
    {
        try
        {
            return _packages.Value;
        }
        catch (Exception)
        {
            return PackageAssemblies.None;
        }
    }

    /// <summary>Whether the namespaces say a type is the app's code (packages aside).</summary>
    internal bool IsInApp(string? typeName) => IsInApp(typeName, out _);

    private bool IsInApp(string? typeName, out bool included)
    {
        included = false;
        if (string.IsNullOrEmpty(typeName))
        {
            return false;
        }

        // An include names the app's own code explicitly: it wins over every exclude, Microsoft's products included.
        foreach (var prefix in _included)
        {
            if (HasNamespacePrefix(typeName, prefix))
            {
                included = true;
                return true;
            }
        }

        foreach (var prefix in _excluded)
        {
            if (HasNamespacePrefix(typeName, prefix))
            {
                return false;
            }
        }

        return !MicrosoftProducts.Classify(typeName).IsProduct;
    }

    private static bool HasNamespacePrefix(string typeName, string prefix) =>
        typeName.StartsWith(prefix, StringComparison.Ordinal) && (typeName.Length == prefix.Length || typeName[prefix.Length] == '.');

    /// <summary>An exception's entry value: its message, cut to <see cref="MaxInnerValueChars"/> after the first of the chain.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string Value(Exception exception, bool isFirst) =>
        isFirst ? SafeMessage(exception) : EventWireWriter.Cut(SafeMessage(exception), MaxInnerValueChars)!;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string SafeMessage(Exception exception)
    {
        try
        {
            return IsJoiningAggregate(exception) ? AggregateMessage((AggregateException)exception) : exception.Message;
        }
        catch (Exception)
        {
            // A custom Message override may throw; reporting must not.
            return "";
        }
    }

    /// <summary>An AggregateException whose Message joins its inner exceptions' (a subclass may say what its Message is).</summary>
    private static bool IsJoiningAggregate(Exception exception) =>
        exception.GetType() == typeof(AggregateException) && ((AggregateException)exception).InnerExceptions.Count > 0;

    /// <summary>
    /// The text AggregateException.Message makes, <c>own (inner 1) (inner 2)</c> with each inner aggregate's text inside
    /// its brackets, but only as far as the wire writer keeps it: one character more than
    /// <see cref="EventWireWriter.MaxStringChars"/>, so the writer cuts it as it cut the whole. The runtime makes the whole
    /// text at every read, by recursion: an aggregate of 10,000 exceptions of 20,000 characters made 400 MB of text for
    /// each read (1.5 GB allocated for one event), and aggregates nested deeply enough overflow the stack, which ends the
    /// app. Here it is made by a loop, with one small entry per open aggregate. An inner exception whose Message throws
    /// throws here too, as the runtime's does: the event's value is then empty, as before.
    /// </summary>
    private static string AggregateMessage(AggregateException aggregate)
    {
        const int Limit = EventWireWriter.MaxStringChars + 1;
        var text = new StringBuilder();
        var open = new Stack<(ReadOnlyCollection<Exception> Inners, int Next)>();
        Open(aggregate);
        while (open.Count > 0 && text.Length < Limit)
        {
            var (inners, next) = open.Pop();
            if (next == inners.Count)
            {
                if (open.Count > 0)
                {
                    text.Append(')'); // the end of an inner aggregate's brackets
                }

                continue;
            }

            open.Push((inners, next + 1));
            text.Append(next == 0 ? "(" : " (");
            var inner = inners[next];
            if (IsJoiningAggregate(inner))
            {
                Open((AggregateException)inner);
            }
            else
            {
                Append(inner.Message);
                text.Append(')');
            }
        }

        return text.Length > Limit ? text.ToString(0, Limit) : text.ToString();

        void Open(AggregateException opened)
        {
            Append(OwnMessage(opened));
            text.Append(' ');
            open.Push((opened.InnerExceptions, 0));
        }

        void Append(string piece) => text.Append(piece, 0, Math.Clamp(Limit - text.Length, 0, piece.Length));
    }

    /// <summary>The message an aggregate was made with, without its inner exceptions' (Exception.Message, which AggregateException overrides).</summary>
    private static string OwnMessage(AggregateException aggregate) =>
        MessageField(aggregate) ?? $"Exception of type '{aggregate.GetType()}' was thrown.";

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_message")]
    private static extern ref string? MessageField(Exception exception);

    /// <summary>What a method contributes to every frame of it, whatever the offset.</summary>
    /// <remarks><c>FromPackage</c>: the namespaces say in-app, but the assembly came from a NuGet package (and no InAppInclude names it).</remarks>
    private sealed record MethodFacts(bool Hidden, string? Type, string Function, string? Module, bool InApp, bool FromPackage, bool IsMiddleware)
    {
        public static readonly MethodFacts HiddenFrame = new(Hidden: true, null, "", null, InApp: false, FromPackage: false, IsMiddleware: false);
    }
}

/// <summary>An exception type's <c>type</c> field and, when its assembly has a name, its <c>module</c> field, as bytes.</summary>
internal sealed record EncodedTypeFields(byte[] Type, byte[]? Module);

/// <summary>One exception of a captured chain, with its frames as they were when it was captured.</summary>
internal readonly record struct CapturedException(Exception Exception, StackTrace Trace);

/// <summary>A chain captured on the app's thread, turned into event entries when the event's exceptions are first read.</summary>
internal sealed class CapturedChain(ExceptionConverter converter, List<CapturedException> chain)
{
    public int Count => chain.Count;

    public List<ExceptionEntry> ToEntries() => converter.ToEntries(chain);

    /// <summary>The chain as the event's <c>exceptions</c> array, without making entries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Write(ref MessagePackWriter writer) => converter.Write(ref writer, chain);
}

/// <summary>
/// A trace as the frames' methods (compared as objects) and IL offsets, for looking up its bytes. The same object is refilled for each
/// look-up on a thread (<see cref="TryFill"/>); what is kept in the cache is a <see cref="Copy"/> of exact size.
/// </summary>
/// <remarks>
/// Every event of a storm fills a key from some 30 frames. Each frame is kept as a pair in one array of structs: storing a
/// <see cref="MethodBase"/> into a <c>MethodBase[]</c> costs a type check per store (the array could be of a derived type),
/// which a struct's field does not; and the hash is mixed inline rather than by two calls to <see cref="HashCode"/> per frame.
/// Together they were about half of the key's cost (docs/benchmarks.md, section "storm8").
/// </remarks>
internal sealed class TraceKey
{
    public static readonly IEqualityComparer<TraceKey> Comparer = new KeyComparer();

    private Frame[] _frames = [];
    private int _count;
    private int _hash;

    /// <summary>Takes the trace's frames; false when one cannot be read (the trace is then written without the cache).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryFill(StackTrace trace)
    {
        try
        {
            var count = Math.Min(trace.FrameCount, ExceptionConverter.MaxFramesPerException);
            if (_frames.Length < count)
            {
                _frames = new Frame[Math.Max(count, 32)];
            }

            var frames = _frames;
            var hash = (uint)count;
            for (var i = 0; i < count; i++)
            {
                var frame = trace.GetFrame(i);
                var method = ExceptionConverter.MethodOf(frame);
                if (method is null && ExceptionConverter.HasName(frame))
                {
                    // Known by name only (NativeAOT): frames of different methods would look alike here.
                    return false;
                }

                var offset = frame?.GetILOffset() ?? -1;
                frames[i] = new Frame(method, offset);
                // By identity: the runtime hands out one MethodBase per method for a trace's frames, and a second
                // object for the same method could only miss the cache, never match another method's frame.
                hash = Mix(Mix(hash, method is null ? 0 : RuntimeHelpers.GetHashCode(method)), offset);
            }

            Array.Clear(frames, count, _count > count ? _count - count : 0);
            _count = count;
            _hash = (int)(hash ^ (hash >> 15));
            return true;
        }
        catch (Exception)
        {
            Array.Clear(_frames);
            _count = 0;
            return false;
        }
    }

    public TraceKey Copy() => new() { _frames = _frames[.._count], _count = _count, _hash = _hash };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Mix(uint hash, int value) => BitOperations.RotateLeft(hash ^ (uint)value, 13) * 0x9E3779B1u;

    private readonly record struct Frame(MethodBase? Method, int ILOffset);

    private sealed class KeyComparer : IEqualityComparer<TraceKey>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Equals(TraceKey? x, TraceKey? y)
        {
            if (ReferenceEquals(x, y))
            {
                return true;
            }

            if (x is null || y is null || x._hash != y._hash || x._count != y._count)
            {
                return false;
            }

            for (var i = 0; i < x._count; i++)
            {
                if (x._frames[i].ILOffset != y._frames[i].ILOffset || !ReferenceEquals(x._frames[i].Method, y._frames[i].Method))
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(TraceKey key) => key._hash;
    }
}
