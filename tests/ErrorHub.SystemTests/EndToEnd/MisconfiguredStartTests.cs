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

    [Theory]
    [InlineData("dashboard/ErrorHub.Dashboard", "ErrorHub__Ingest__MaxBodyBytes", "0", "ErrorHub:Ingest:MaxBodyBytes must be between 1024 and 268435456 bytes, not 0.")]
    [InlineData("ingest/ErrorHub.Ingest", "ErrorHub__Ingest__MaxBodyBytes", "0", "ErrorHub:Ingest:MaxBodyBytes must be between 1024 and 268435456 bytes, not 0.")]
    [InlineData("dashboard/ErrorHub.Dashboard", "ErrorHub__ForwardedHeaders__KnownProxies", "proxy.internal", "ErrorHub:ForwardedHeaders:KnownProxies 'proxy.internal' is not an IP address")]
    [InlineData("dashboard/ErrorHub.Dashboard", "ErrorHub__ForwardedHeaders__KnownNetworks", "10.0.0.0/40", "ErrorHub:ForwardedHeaders:KnownNetworks '10.0.0.0/40' is not a network in CIDR notation")]
    [InlineData("ingest/ErrorHub.Ingest", "ErrorHub__ForwardedHeaders__KnownNetworks", "10.0.0.0/40", "ErrorHub:ForwardedHeaders:KnownNetworks '10.0.0.0/40' is not a network in CIDR notation")]
    public async Task A_setting_out_of_range_ends_the_start_with_exit_code_1_and_the_validation_message(string host, string key, string value, string expected)
    {
        // The dashboard reads its options while it builds its services and pipeline (its data protection keys, through UseAntiforgery),
        // before the host runs: that was the runtime's abort (exit code 134).
        var exit = await RunUntilExitAsync(host, new() { [key] = value });

        exit.Code.Should().Be(1, exit.Output.ToString());
        exit.Output.Lines.Should().Contain(
            line => line.StartsWith("err: ErrorHub did not start: ", StringComparison.Ordinal) && line.Contains(expected, StringComparison.Ordinal),
            exit.Output.ToString());
        exit.Output.Contains("Unhandled exception").Should().BeFalse(exit.Output.ToString());
    }

    [Theory]
    [InlineData("ingest/ErrorHub.Ingest", "ErrorHub__Store__SchemaWaitLimit", "garbage", "Failed to convert configuration value 'garbage' at 'ErrorHub:Store:SchemaWaitLimit' to type 'System.TimeSpan'.")]
    [InlineData("ingest/ErrorHub.Ingest", "ErrorHub__Store__SchemaWaitLimit", "99999999.00:00:00", "at 'ErrorHub:Store:SchemaWaitLimit' to type 'System.TimeSpan'.")]
    [InlineData("ingest/ErrorHub.Ingest", "ErrorHub__Ingest__MaxBodyBytes", "99999999999999999999", "at 'ErrorHub:Ingest:MaxBodyBytes' to type 'System.Int32'. Value was either too large or too small for an Int32.")]
    [InlineData("ingest/ErrorHub.Ingest", "ErrorHub__Store__EnsureSchemaOnStartup", "yes", "at 'ErrorHub:Store:EnsureSchemaOnStartup' to type 'System.Boolean'.")]
    [InlineData("ingest/ErrorHub.Ingest", "Kestrel__Limits__MaxRequestBodySize", "abc", "at 'Kestrel:Limits:MaxRequestBodySize' to type 'System.Int64'.")]
    [InlineData("dashboard/ErrorHub.Dashboard", "ErrorHub__AllInOne", "yes", "at 'ErrorHub:AllInOne' to type 'System.Boolean'.")]
    [InlineData("dashboard/ErrorHub.Dashboard", "ErrorHub__Store__SchemaWaitLimit", "garbage", "at 'ErrorHub:Store:SchemaWaitLimit' to type 'System.TimeSpan'.")]
    [InlineData("dashboard/ErrorHub.Dashboard", "Kestrel__Limits__MaxRequestBodySize", "abc", "at 'Kestrel:Limits:MaxRequestBodySize' to type 'System.Int64'.")]
    public async Task A_setting_that_is_not_a_value_of_its_type_ends_the_start_with_exit_code_1_naming_the_key(string host, string key, string value, string expected)
    {
        // The configuration binder's refusal was an unhandled exception: the runtime's abort (exit code 134) and a stack trace. Kestrel's
        // limits are read while the app is built, and the dashboard reads whether it is all-in-one and its other options while it builds
        // its services and pipeline, before the host runs.
        var exit = await RunUntilExitAsync(host, new() { [key] = value });

        exit.Code.Should().Be(1, exit.Output.ToString());
        exit.Output.Lines.Should().Contain(
            line => line.StartsWith("err: ErrorHub did not start: Failed to convert configuration value ", StringComparison.Ordinal) && line.Contains(expected, StringComparison.Ordinal),
            exit.Output.ToString());
        exit.Output.Contains("Unhandled exception").Should().BeFalse(exit.Output.ToString());
    }

    [Theory]
    [InlineData("ingest/ErrorHub.Ingest", "00:00:00")]
    [InlineData("ingest/ErrorHub.Ingest", "-00:00:05")]
    [InlineData("ingest/ErrorHub.Ingest", "8.00:00:00")]
    [InlineData("dashboard/ErrorHub.Dashboard", "-00:00:05")]
    public async Task A_schema_wait_limit_out_of_range_ends_the_start_with_exit_code_1_and_the_range(string host, string value)
    {
        var exit = await RunUntilExitAsync(host, new() { ["ErrorHub__Store__SchemaWaitLimit"] = value });

        exit.Code.Should().Be(1, exit.Output.ToString());
        exit.Output.Lines.Should().Contain(
            line => line.StartsWith("err: ErrorHub did not start: ", StringComparison.Ordinal)
                && line.Contains("ErrorHub:Store:SchemaWaitLimit must be between 00:00:01 and 7.00:00:00", StringComparison.Ordinal),
            exit.Output.ToString());
    }

    [Fact]
    public async Task A_sqlite_file_whose_user_version_another_program_set_below_zero_ends_with_exit_code_1_and_is_left_alone()
    {
        var file = Path.Combine(_directory, "errorhub.db");
        await ServerHostEnvironment.SqliteScalarAsync(file, "PRAGMA user_version = -7");

        var exit = await RunUntilExitAsync("ingest/ErrorHub.Ingest", []);

        exit.Code.Should().Be(1, exit.Output.ToString());
        exit.Output.Lines.Should().Contain(
            line => line.StartsWith("err: ErrorHub did not start: the store's schema version is -7, which no build of ErrorHub makes", StringComparison.Ordinal),
            exit.Output.ToString());
        (await ServerHostEnvironment.SqliteScalarAsync(file, "PRAGMA user_version")).Should().Be(-7L);
        (await ServerHostEnvironment.SqliteScalarAsync(file, "SELECT count(*) FROM sqlite_master")).Should().Be(0L, "no table was made in another program's file");
    }

    [Fact]
    public async Task An_older_build_on_a_sqlite_store_a_newer_build_migrated_ends_with_exit_code_1_and_leaves_the_store_alone()
    {
        var file = Path.Combine(_directory, "errorhub.db");
        await ServerHostEnvironment.SqliteScalarAsync(file, "PRAGMA user_version = 99");

        var exit = await RunUntilExitAsync("ingest/ErrorHub.Ingest", []);

        exit.Code.Should().Be(1, exit.Output.ToString());
        exit.Output.Lines.Should().Contain(
            line => line.StartsWith("err: ErrorHub did not start: the store's schema is version 99, this build knows up to ", StringComparison.Ordinal)
                && line.Contains(": upgrade this process", StringComparison.Ordinal),
            exit.Output.ToString());
        (await ServerHostEnvironment.SqliteScalarAsync(file, "PRAGMA user_version")).Should().Be(99L, "the older build must not record its version over the newer one's");
        exit.Output.Contains("Unhandled exception").Should().BeFalse(exit.Output.ToString());
    }

    [Theory]
    [InlineData("dashboard/ErrorHub.Dashboard")]
    [InlineData("ingest/ErrorHub.Ingest")]
    public async Task An_older_build_on_a_clickhouse_store_a_newer_build_migrated_ends_with_exit_code_1(string host)
    {
        var database = ClickHouseServerFixture.NewDatabaseName("newerschema");
        using var http = new HttpClient();
        await ClickHouseAsync(http, $"CREATE DATABASE {database}");
        try
        {
            await ClickHouseAsync(http, $"CREATE TABLE {database}.schema_versions (version UInt32, migrated_at DateTime('UTC')) ENGINE = ReplacingMergeTree ORDER BY version");
            await ClickHouseAsync(http, $"INSERT INTO {database}.schema_versions VALUES (99, now())");

            var exit = await RunUntilExitAsync(host, new()
            {
                ["ErrorHub__Store__Kind"] = "clickhouse",
                ["ErrorHub__Store__ClickHouse__Url"] = clickHouse.Url.ToString(),
                ["ErrorHub__Store__ClickHouse__Database"] = database,
            });

            exit.Code.Should().Be(1, exit.Output.ToString());
            exit.Output.Lines.Should().Contain(
                line => line.StartsWith("err: ErrorHub did not start: the store's schema is version 99, this build knows up to ", StringComparison.Ordinal),
                exit.Output.ToString());
            (await ClickHouseAsync(http, $"SELECT count() FROM system.tables WHERE database = '{database}'")).Trim()
                .Should().Be("1", "the older build made no table in a database of a newer schema");
        }
        finally
        {
            await ClickHouseAsync(http, $"DROP DATABASE IF EXISTS {database}");
        }
    }

    [Fact]
    public async Task A_store_still_unreachable_after_the_schema_wait_limit_ends_the_start_with_exit_code_1()
    {
        // A loopback port nobody listens on: a ClickHouse that never comes up.
        var exit = await RunUntilExitAsync("ingest/ErrorHub.Ingest", new()
        {
            ["ErrorHub__Store__Kind"] = "clickhouse",
            ["ErrorHub__Store__ClickHouse__Url"] = FreePort.NextHttpUrl().ToString(),
            ["ErrorHub__Store__SchemaWaitLimit"] = "00:00:03",
        });

        exit.Code.Should().Be(1, exit.Output.ToString());
        exit.Output.Lines.Should().Contain(
            line => line.StartsWith("err: ErrorHub did not start: the clickhouse store could not create its tables within 00:00:03 (ErrorHub:Store:SchemaWaitLimit)", StringComparison.Ordinal),
            exit.Output.ToString());
        exit.Output.Contains("Try 2 to create the store's tables failed").Should().BeTrue("each try is logged: " + exit.Output);
        exit.Output.Contains("Unhandled exception").Should().BeFalse(exit.Output.ToString());
    }

    private async Task<string> ClickHouseAsync(HttpClient http, string sql)
    {
        using var response = await http.PostAsync(clickHouse.Url, new StringContent(sql));
        var body = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue(body);
        return body;
    }

    private async Task<(int Code, OutputBuffer Output)> RunUntilExitAsync(string host, Dictionary<string, string?> settings)
    {
        var environment = ServerHostEnvironment.Production(_directory, settings);
        await using var process = TestProcess.StartDotnet(
            Path.GetFileName(host), RepositoryPaths.BuiltAssembly(host), ["--urls", FreePort.NextHttpUrl().GetLeftPart(UriPartial.Authority)], environment);
        var code = await process.WaitForExitAsync(ExitTimeout);
        return (code, process.Output);
    }
}
