using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// The server hosts as an operator starts them (docs/deployment.md), with the mistakes a first deployment makes: a start that
/// no retry can mend ends the process with exit code 1 and a line saying which setting to change, not with the runtime's
/// "Unhandled exception." (an abort: SIGABRT, exit code 134 and a core dump under a service manager).
/// </summary>
public sealed class MisconfiguredStartTests(ClickHouseServerFixture clickHouse) : IClassFixture<ClickHouseServerFixture>, IDisposable
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(90);

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-misconfigured-").FullName;

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
    [InlineData("dashboard/ErrorHub.Dashboard")]
    [InlineData("ingest/ErrorHub.Ingest")]
    public async Task A_wrong_clickhouse_password_ends_the_start_with_exit_code_1_and_names_the_settings_to_check(string host)
    {
        // The test server's default user has no password: any password is the wrong one.
        var exit = await RunUntilExitAsync(host, new()
        {
            ["ErrorHub__Store__Kind"] = "clickhouse",
            ["ErrorHub__Store__ClickHouse__Url"] = clickHouse.Url.ToString(),
            ["ErrorHub__Store__ClickHouse__Database"] = ClickHouseServerFixture.NewDatabaseName("misconfigured"),
            ["ErrorHub__Store__ClickHouse__Password"] = "not-the-password",
        });

        exit.Code.Should().Be(1, exit.Output.ToString());
        exit.Output.Lines.Should().Contain(
            line => line.StartsWith("err: ErrorHub did not start: ClickHouse refused the query: Code: 193", StringComparison.Ordinal)
                && line.Contains("check ErrorHub:Store:ClickHouse:User and ErrorHub:Store:ClickHouse:Password", StringComparison.Ordinal),
            exit.Output.ToString());
        exit.Output.Contains("Unhandled exception").Should().BeFalse(exit.Output.ToString());
    }

    [Fact]
    public async Task A_setting_out_of_range_ends_the_start_with_exit_code_1_and_the_validation_message()
    {
        var exit = await RunUntilExitAsync("ingest/ErrorHub.Ingest", new() { ["ErrorHub__Ingest__MaxBodyBytes"] = "0" });

        exit.Code.Should().Be(1, exit.Output.ToString());
        exit.Output.Lines.Should().Contain(
            line => line.StartsWith("err: ErrorHub did not start: ", StringComparison.Ordinal)
                && line.Contains("ErrorHub:Ingest:MaxBodyBytes must be between 1024 and 268435456 bytes, not 0.", StringComparison.Ordinal),
            exit.Output.ToString());
        exit.Output.Contains("Unhandled exception").Should().BeFalse(exit.Output.ToString());
    }

    private async Task<(int Code, OutputBuffer Output)> RunUntilExitAsync(string host, Dictionary<string, string?> settings)
    {
        var environment = new Dictionary<string, string?>(settings)
        {
            ["ErrorHub__DataDirectory"] = _directory,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = null,
            ["DOTNET_URLS"] = null,
            ["ASPNETCORE_HTTP_PORTS"] = null,
        };
        await using var process = TestProcess.StartDotnet(
            Path.GetFileName(host), RepositoryPaths.BuiltAssembly(host), ["--urls", FreePort.NextHttpUrl().GetLeftPart(UriPartial.Authority)], environment);
        var code = await process.WaitForExitAsync(ExitTimeout);
        return (code, process.Output);
    }
}
