using System.Reflection;

namespace ErrorHub.Testing.Processes;

/// <summary>Where the repository and our projects' build outputs are, seen from a test assembly.</summary>
public static class RepositoryPaths
{
    private const string TargetFramework = "net10.0";

    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder holding <c>ErrorHub.sln</c>.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>The configuration these tests were built with (Debug unless <c>-c Release</c>); our apps are built alongside.</summary>
    public static string Configuration { get; } =
        typeof(RepositoryPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } configuration
            ? configuration
            : "Debug";

    /// <summary>
    /// The built assembly of one of our projects, e.g. <c>BuiltAssembly("dashboard/ErrorHub.Dashboard")</c>.
    /// Fails with a hint when it was not built: test projects reference the apps they start (without
    /// referencing their assemblies) so that building the tests builds the apps.
    /// </summary>
    public static string BuiltAssembly(string projectDirectory, string? assemblyName = null)
    {
        var directory = Path.Combine(Root, projectDirectory);
        assemblyName ??= Path.GetFileName(projectDirectory.TrimEnd('/', '\\'));
        var path = Path.Combine(directory, "bin", Configuration, TargetFramework, assemblyName + ".dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"'{path}' does not exist. Build it first: dotnet build {projectDirectory} -c {Configuration}", path);
        }

        return path;
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ErrorHub.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No ErrorHub.sln above '{AppContext.BaseDirectory}'.");
    }
}
