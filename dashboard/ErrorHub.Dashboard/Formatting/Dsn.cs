using ErrorHub.Server.Storage;

namespace ErrorHub.Dashboard.Formatting;

/// <summary>The one string that configures an SDK: <c>http(s)://publicKey@host[:port]/projectId</c>.</summary>
internal static class Dsn
{
    /// <param name="dashboardBaseUri">The dashboard's address as the browser sees it; ingest answers on the same host and port.</param>
    public static string For(Project project, Uri dashboardBaseUri) =>
        FormattableString.Invariant($"{dashboardBaseUri.Scheme}://{project.PublicKey}@{dashboardBaseUri.Authority}/{project.Id}");
}
