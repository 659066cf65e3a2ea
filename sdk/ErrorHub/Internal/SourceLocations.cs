using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Runtime.CompilerServices;

namespace ErrorHub.Internal;

/// <summary>
/// File, line and column of a frame, read from the app's portable PDB (a file beside the assembly, or embedded in
/// it) away from the app's threads, exactly as the runtime's <c>new StackTrace(exception, true)</c> reads them: the
/// last visible sequence point at or before the frame's IL offset. Each assembly's symbols are opened once, each
/// file name is made once, and each (method, offset) is looked up once, within bounds.
/// </summary>
internal static class SourceLocations
{
    /// <summary>Most (method, IL offset) pairs remembered; beyond it they are looked up each time.</summary>
    internal const int MaxCachedLocations = 10_000;

    /// <summary>
    /// A single-file app's assemblies have no file of their own to find symbols beside: there the runtime, which
    /// reads them from memory, resolves files and lines when the exception is captured, as before this split.
    /// </summary>
    private static readonly bool RuntimeReadsSymbols = IsSingleFile();

    private static readonly ConditionalWeakTable<Assembly, Symbols> SymbolsByAssembly = [];
    private static readonly ConcurrentDictionary<(MethodBase Method, int Offset), SourceLocation> Locations = new();

    // The empty Location the analyzer warns of is what this asks about (NativeAOT apps answer it the same way).
    [UnconditionalSuppressMessage("SingleFile", "IL3000:Avoid accessing Assembly file path when publishing as a single file", Justification = "An empty Location is the answer looked for.")]
    private static bool IsSingleFile() => string.IsNullOrEmpty(typeof(SourceLocations).Assembly.Location);

    /// <summary>The exception's frames as they are now: methods and IL offsets, no symbol reading.</summary>
    public static StackTrace Capture(Exception exception) => new(exception, fNeedFileInfo: RuntimeReadsSymbols);

    public static SourceLocation Find(StackFrame frame, MethodBase method)
    {
        if (frame.GetFileName() is { } runtimeFile)
        {
            return new SourceLocation(runtimeFile, frame.GetFileLineNumber(), frame.GetFileColumnNumber());
        }

        var offset = frame.GetILOffset();
        if (offset < 0 || RuntimeReadsSymbols)
        {
            return SourceLocation.None;
        }

        if (Locations.TryGetValue((method, offset), out var location))
        {
            return location;
        }

        location = Read(method, offset);
        if (Locations.Count < MaxCachedLocations)
        {
            Locations.TryAdd((method, offset), location);
        }

        return location;
    }

    private static SourceLocation Read(MethodBase method, int offset)
    {
        try
        {
            var assembly = method.Module.Assembly;
            if (assembly.IsDynamic || MetadataTokens.EntityHandle(method.MetadataToken) is not { Kind: HandleKind.MethodDefinition } handle)
            {
                return SourceLocation.None;
            }

            return SymbolsByAssembly.GetValue(assembly, static a => Symbols.Open(a)).Find((MethodDefinitionHandle)handle, offset);
        }
        catch (Exception)
        {
            // A symbol file that is corrupt, or replaced while the app runs: the frame goes without a line.
            return SourceLocation.None;
        }
    }

    /// <summary>One assembly's portable PDB, or nothing when it has none.</summary>
    private sealed class Symbols
    {
        private static readonly Symbols NoSymbols = new(null, null);

        private readonly MetadataReaderProvider? _provider; // kept alive with the reader it made
        private readonly MetadataReader? _reader;
        private readonly ConcurrentDictionary<DocumentHandle, string> _documents = new();

        private Symbols(MetadataReaderProvider? provider, MetadataReader? reader)
        {
            _provider = provider;
            _reader = reader;
        }

        [UnconditionalSuppressMessage("SingleFile", "IL3000:Avoid accessing Assembly file path when publishing as a single file", Justification = "An assembly without a file (single-file, NativeAOT) has no symbols beside it: none are read.")]
        public static Symbols Open(Assembly assembly)
        {
            var path = assembly.Location;
            if (string.IsNullOrEmpty(path) || !File.Exists(path))
            {
                return NoSymbols;
            }

            try
            {
                using var peStream = File.OpenRead(path);
                using var peReader = new PEReader(peStream);
                if (peReader.TryOpenAssociatedPortablePdb(path, OpenIfExists, out var provider, out _) && provider is not null)
                {
                    return new Symbols(provider, provider.GetMetadataReader());
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
            {
                // Not a PE file we can read, or a PDB in the old Windows format: no lines, as with the runtime.
            }

            return NoSymbols;
        }

        public SourceLocation Find(MethodDefinitionHandle method, int offset)
        {
            if (_reader is not { } reader)
            {
                return SourceLocation.None;
            }

            var debugInformation = reader.GetMethodDebugInformation(method.ToDebugInformationHandle());
            if (debugInformation.SequencePointsBlob.IsNil)
            {
                return SourceLocation.None;
            }

            SequencePoint? best = null;
            foreach (var point in debugInformation.GetSequencePoints())
            {
                if (point.Offset > offset)
                {
                    break;
                }

                if (!point.IsHidden)
                {
                    best = point;
                }
            }

            if (best is not { } found)
            {
                return SourceLocation.None;
            }

            var file = _documents.GetOrAdd(found.Document, static (document, r) => r.GetString(r.GetDocument(document).Name), reader);
            return new SourceLocation(file, found.StartLine, found.StartColumn);
        }

        private static Stream? OpenIfExists(string path) => File.Exists(path) ? File.OpenRead(path) : null;
    }
}

/// <summary>Where a frame is in the source; an empty file and zero line when unknown.</summary>
internal readonly record struct SourceLocation(string? File, int Line, int Column)
{
    public static readonly SourceLocation None = new(null, 0, 0);
}
