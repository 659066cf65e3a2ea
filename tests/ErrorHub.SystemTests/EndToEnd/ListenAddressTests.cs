using ErrorHub.Testing.Processes;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// Where the hosts listen, given as docs/deployment.md gives it to a stand-alone ingest behind a load balancer: by
/// <c>ASPNETCORE_URLS</c>. A default address in the host's appsettings.json used to win over that variable (the app's
/// files rank above host configuration), so ingest went on listening on 127.0.0.1:5081 whatever the operator said.
/// </summary>
public sealed class ListenAddressTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-listen-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData("ASPNETCORE_URLS")]
    [InlineData("Urls")]
    public async Task Ingest_listens_where_the_environment_says(string variable)
    {
        var url = FreePort.NextHttpUrl();
        await using var process = TestProcess.StartDotnet(
            "ingest",
            RepositoryPaths.BuiltAssembly("ingest/ErrorHub.Ingest"),
            [],
            new Dictionary<string, string?>
            {
                ["ErrorHub__DataDirectory"] = _directory,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = null,
                ["DOTNET_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
                [variable] = url.GetLeftPart(UriPartial.Authority),
            });

        await process.WaitForHttpAsync(new Uri(url, "/healthz"), StartTimeout);
    }
}
