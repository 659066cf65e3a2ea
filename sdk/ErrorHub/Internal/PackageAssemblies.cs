using System.Text.Json;

namespace ErrorHub.Internal;

/// <summary>
/// The assemblies the app got from NuGet packages, read once from the app's deps file (<c>&lt;app&gt;.deps.json</c>, which the
/// .NET SDK writes beside every app it builds). The file lists each library with its type: <c>project</c> for the app's own
/// projects, <c>package</c> for a NuGet package. A package's code is a library's, not the app's, whatever its namespace: a
/// client library the SDK does not know (a payment provider's SDK, a hardware wrapper) must not be taken for the app's first
/// frame. Without a deps file (a single-file app, a host that does not pass one) nothing is a package, and in-app is decided
/// by namespaces alone, as before.
/// </summary>
internal sealed class PackageAssemblies
{
    /// <summary>A deps file larger than this is not read: a real app's is some kilobytes to a few megabytes.</summary>
    internal const long MaxDepsFileBytes = 32 * 1024 * 1024;

    /// <summary>Most assembly names kept (the memory bound); an app with more is read as far as this.</summary>
    internal const int MaxAssemblies = 20_000;

    private static readonly Lazy<PackageAssemblies> ForThisApp = new(ReadCurrentApp, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly HashSet<string> _names;

    private PackageAssemblies(HashSet<string> names) => _names = names;

    public static PackageAssemblies None { get; } = new(new HashSet<string>(StringComparer.OrdinalIgnoreCase));

    /// <summary>This process's app, read at the first call (by the sender's warm-up, off the app's threads) and kept.</summary>
    public static PackageAssemblies Current => ForThisApp.Value;

    public int Count => _names.Count;

    /// <summary>Whether the assembly of this name came from a NuGet package.</summary>
    public bool Contains(string? assemblyName) => assemblyName is not null && _names.Contains(assemblyName);

    /// <summary>The packages of the deps file at <paramref name="path"/>; <see cref="None"/> when it cannot be read. Never throws.</summary>
    public static PackageAssemblies Read(string? path)
    {
        try
        {
            if (string.IsNullOrEmpty(path) || !File.Exists(path))
            {
                return None;
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length > MaxDepsFileBytes)
            {
                return None;
            }

            using var document = JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            return Parse(document.RootElement);
        }
        catch (Exception)
        {
            // An unreadable or malformed file: reporting goes on exactly as without one.
            return None;
        }
    }

    private static PackageAssemblies ReadCurrentApp()
    {
        // The host passes the app's deps file first, then its frameworks', separated by ';' on every platform (the same list
        // DependencyContext.Default reads).
        var files = AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string;
        var first = files?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return Read(first);
    }

    private static PackageAssemblies Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("libraries", out var libraries) || libraries.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("targets", out var targets) || targets.ValueKind != JsonValueKind.Object)
        {
            return None;
        }

        var packages = new HashSet<string>(StringComparer.Ordinal);
        foreach (var library in libraries.EnumerateObject())
        {
            if (library.Value.ValueKind == JsonValueKind.Object && library.Value.TryGetProperty("type", out var type)
                && type.ValueKind == JsonValueKind.String && type.ValueEquals("package"))
            {
                packages.Add(library.Name);
            }
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (packages.Count == 0)
        {
            return new PackageAssemblies(names);
        }

        // The target the app runs on; a file without one (hand-written) has its libraries' assets under every target alike.
        string? runtimeTarget = null;
        if (root.TryGetProperty("runtimeTarget", out var target) && target.ValueKind == JsonValueKind.Object
            && target.TryGetProperty("name", out var targetName) && targetName.ValueKind == JsonValueKind.String)
        {
            runtimeTarget = targetName.GetString();
        }

        foreach (var candidate in targets.EnumerateObject())
        {
            if ((runtimeTarget is not null && candidate.Name != runtimeTarget) || candidate.Value.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            foreach (var library in candidate.Value.EnumerateObject())
            {
                if (packages.Contains(library.Name) && library.Value.ValueKind == JsonValueKind.Object)
                {
                    AddAssemblies(library.Value, "runtime", names);
                    AddAssemblies(library.Value, "runtimeTargets", names);
                }
            }
        }

        return new PackageAssemblies(names);
    }

    /// <summary>Assets are paths (<c>lib/net8.0/RDNET.dll</c>): the file's name is the assembly's. Native assets are not assemblies.</summary>
    private static void AddAssemblies(JsonElement library, string assets, HashSet<string> names)
    {
        if (!library.TryGetProperty(assets, out var files) || files.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var file in files.EnumerateObject())
        {
            if (names.Count >= MaxAssemblies)
            {
                return;
            }

            if (file.Value.ValueKind == JsonValueKind.Object && file.Value.TryGetProperty("assetType", out var assetType)
                && assetType.ValueKind == JsonValueKind.String && !assetType.ValueEquals("runtime"))
            {
                continue;
            }

            var name = Path.GetFileName(file.Name);
            if (name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".exe", StringComparison.OrdinalIgnoreCase))
            {
                names.Add(name[..^4]);
            }
        }
    }
}
