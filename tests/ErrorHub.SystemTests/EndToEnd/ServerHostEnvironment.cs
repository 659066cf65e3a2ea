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
