using ErrorHub.Storage;

namespace ErrorHub.Server;

/// <summary>
/// The one string that configures an SDK for a project (docs/protocol.md, "DSN"):
/// <c>http(s)://&lt;publicKey&gt;@&lt;host&gt;[:port][/path base]/&lt;projectId&gt;</c>. The server logs it at start-up
/// and the dashboard shows it; both build it here so they cannot disagree.
/// </summary>
public static class ProjectDsn
{
    /// <param name="serverBaseAddress">Where ingest answers as clients see it, including any path base.</param>
    public static string For(Project project, Uri serverBaseAddress)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(serverBaseAddress);
        var pathBase = serverBaseAddress.AbsolutePath.TrimEnd('/');
        return FormattableString.Invariant(
            $"{serverBaseAddress.Scheme}://{project.PublicKey}@{serverBaseAddress.Authority}{pathBase}/{project.Id}");
    }
}
