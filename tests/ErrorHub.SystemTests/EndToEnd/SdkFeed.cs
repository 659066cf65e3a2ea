using ErrorHub.Testing.Processes;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// The SDK's packages packed into a folder feed, once per test run for every class that installs them as a user
/// would (packing is the slow part), with a version of its own per run: the NuGet cache never serves an older build
/// under the same number.
/// </summary>
internal static class SdkFeed
{
    public static readonly string Version = $"0.1.0-fresh.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    private static readonly Lazy<Task<string>> Packed = new(PackAsync);

    /// <summary>The feed's folder, packed on first use.</summary>
    public static Task<string> FolderAsync() => Packed.Value;

    /// <summary>
    /// A <c>nuget.config</c> in <paramref name="directory"/> that puts the feed on top of the user's feeds, as
    /// <c>dotnet nuget add source</c> would: an app made there installs the packages exactly as a user's would.
    /// </summary>
    public static async Task UseInAsync(string directory)
    {
        var feed = await FolderAsync();
        await File.WriteAllTextAsync(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="errorhub-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
    }

    private static async Task<string> PackAsync()
    {
        var feed = Directory.CreateTempSubdirectory("errorhub-feed-").FullName;
        foreach (var project in new[] { "sdk/ErrorHub", "sdk/ErrorHub.AspNetCore", "sdk/ErrorHub.Serilog" })
        {
            await DotnetCli.RunAsync(feed, "pack", Path.Combine(RepositoryPaths.Root, project), "-o", feed, $"-p:Version={Version}", "-nologo", "-v:q");
        }

        return feed;
    }
}
