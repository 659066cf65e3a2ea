using System.Reflection;
using System.Runtime.InteropServices;

namespace ErrorHub.Internal;

/// <summary>Facts about the process, read once: they do not change while it runs.</summary>
internal static class EnvironmentInfo
{
    public static readonly string SdkName = "errorhub.dotnet";

    public static readonly string SdkVersion =
        typeof(EnvironmentInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? "0.0.0";

    public static readonly NameAndVersion Runtime = new(".NET", System.Environment.Version.ToString());

    /// <summary>When this process started (UTC), for the uptime of each event.</summary>
    public static readonly DateTimeOffset ProcessStart = ReadProcessStart();

    public static readonly NameAndVersion OperatingSystem = new(OsName(), System.Environment.OSVersion.Version.ToString());

    /// <summary>The entry assembly's informational version (what <c>&lt;Version&gt;</c> sets), or null.</summary>
    public static string? EntryRelease()
    {
        var entry = Assembly.GetEntryAssembly();
        var version = entry?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? entry?.GetName().Version?.ToString();
        return string.IsNullOrWhiteSpace(version) ? null : $"{entry!.GetName().Name}@{version}";
    }

    public static string MachineName()
    {
        try
        {
            return System.Environment.MachineName;
        }
        catch (InvalidOperationException)
        {
            return "unknown";
        }
    }

    private static DateTimeOffset ReadProcessStart()
    {
        try
        {
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            return process.StartTime.ToUniversalTime();
        }
        catch (Exception)
        {
            // Some sandboxes refuse to tell; uptime then counts from the SDK's start.
            return DateTimeOffset.UtcNow;
        }
    }

    private static string OsName() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "Linux"
        : RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "Windows"
        : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "macOS"
        : RuntimeInformation.OSDescription;
}
