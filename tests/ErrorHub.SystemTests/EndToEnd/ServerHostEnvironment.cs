using ErrorHub.Testing.Processes;
using Microsoft.Data.Sqlite;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>What the tests that start the server hosts as an operator does give them, and how they look into a SQLite store.</summary>
internal static class ServerHostEnvironment
{
    /// <summary>
    /// <paramref name="settings"/> for a host in the Production environment, its data under <paramref name="dataDirectory"/>,
    /// without the developer's own listen addresses (the test passes <c>--urls</c>).
    /// </summary>
    public static Dictionary<string, string?> Production(string dataDirectory, IReadOnlyDictionary<string, string?> settings) =>
        new(settings)
        {
            ["ErrorHub__DataDirectory"] = dataDirectory,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = null,
            ["DOTNET_URLS"] = null,
            ["ASPNETCORE_HTTP_PORTS"] = null,
        };

    /// <summary>The admin <see cref="StartSqliteServerAsync"/> makes.</summary>
    public const string AdminEmail = "maintainer@example.com";

    public const string AdminPassword = "maintainer password 1";

    /// <summary>
    /// Starts the host of project folder <paramref name="host"/> (ingest, or the all-in-one dashboard) on its SQLite store in
    /// <paramref name="dataDirectory"/>, listening on <paramref name="url"/>, with project 1 taking <paramref name="projectKey"/>
    /// and the admin <see cref="AdminEmail"/>, and waits until it is ready. Without spike detection and retention: the tests
    /// that start it count every event they send, whatever its date.
    /// </summary>
    public static async Task<TestProcess> StartSqliteServerAsync(string host, string dataDirectory, Uri url, string projectKey)
    {
        var process = TestProcess.StartDotnet(
            Path.GetFileName(host),
            RepositoryPaths.BuiltAssembly(host),
            ["--urls", url.GetLeftPart(UriPartial.Authority)],
            Production(dataDirectory, new Dictionary<string, string?>
            {
                ["ErrorHub__Project__Id"] = "1",
                ["ErrorHub__Project__PublicKey"] = projectKey,
                ["ErrorHub__Admin__Email"] = AdminEmail,
                ["ErrorHub__Admin__Password"] = AdminPassword,
                ["ErrorHub__Ingest__SpikeEventsPerSecond"] = "0",
                ["ErrorHub__Retention__Enabled"] = "false",
                ["Logging__LogLevel__Default"] = null,
                ["Logging__LogLevel__Microsoft.AspNetCore"] = null,
            }));
        await process.WaitForHttpAsync(new Uri(url, "/readyz"), TimeSpan.FromSeconds(90));
        return process;
    }

    /// <summary>Runs one statement (a pragma) on the SQLite file outside any host and returns its first value.</summary>
    public static async Task<object?> SqliteScalarAsync(string file, string statement)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = statement;
        return await command.ExecuteScalarAsync();
    }
}
