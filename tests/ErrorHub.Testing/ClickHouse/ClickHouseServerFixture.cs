using System.Diagnostics;
using System.Text;
using Xunit;

namespace ErrorHub.Testing.ClickHouse;

/// <summary>
/// One ClickHouse server for a whole test run: a throwaway <c>clickhouse-server</c> child process on
/// free loopback ports with its data in a temporary directory, or the server named by
/// <c>ERRORHUB_TEST_CLICKHOUSE_URL</c> (e.g. a current ClickHouse in CI). Use it as an xunit
/// collection fixture; give each test its own database (<see cref="NewDatabaseName"/>).
/// A missing server binary fails the tests: nothing is skipped silently.
/// </summary>
public sealed class ClickHouseServerFixture : IAsyncLifetime
{
    public const string UrlVariable = "ERRORHUB_TEST_CLICKHOUSE_URL";
    public const string BinaryVariable = "ERRORHUB_TEST_CLICKHOUSE_SERVER";

    private const string DefaultBinary = "/usr/sbin/clickhouse-server";
    private const int StartAttempts = 5;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string? _externalUrl;
    private readonly string _binary;
    private ChildProcess? _process;
    private string? _directory;
    private Uri? _url;

    /// <summary>Configured by the environment: what xunit calls.</summary>
    public ClickHouseServerFixture()
        : this(Environment.GetEnvironmentVariable(UrlVariable), ConfiguredBinary)
    {
    }

    private ClickHouseServerFixture(string? externalUrl, string binary)
    {
        _externalUrl = externalUrl;
        _binary = binary;
    }

    /// <summary>The clickhouse-server binary the environment names (or the Debian package's), for a test that starts a server of its own.</summary>
    public static string ConfiguredBinary => Environment.GetEnvironmentVariable(BinaryVariable) ?? DefaultBinary;

    /// <summary>A fixture that ignores the environment, for testing the fixture itself.</summary>
    public static ClickHouseServerFixture Create(string? externalUrl, string binary, IReadOnlyDictionary<string, string>? serverEnvironment = null) =>
        new(externalUrl, binary) { ServerEnvironment = serverEnvironment ?? new Dictionary<string, string>() };

    /// <summary>Whether the server keeps <c>system.query_log</c> and <c>system.part_log</c> (for benchmarks; set before <see cref="InitializeAsync"/>).</summary>
    public bool SystemLogs { get; init; }

    /// <summary>Variables added to the server process's environment (for benchmarks of its allocator's settings, e.g. <c>MALLOC_CONF</c>).</summary>
    public IReadOnlyDictionary<string, string> ServerEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>The HTTP interface, e.g. <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Url => _url ?? throw new InvalidOperationException("The ClickHouse fixture has not started.");

    /// <summary>True when the tests use a server they did not start.</summary>
    public bool IsExternal { get; private set; }

    /// <summary>The server process this fixture started (null for an external server): for measuring its CPU and memory.</summary>
    public int? ProcessId => IsExternal ? null : _process?.Id;

    /// <summary>
    /// Hangs this fixture's own server (SIGSTOP) or lets it go on (SIGCONT); see <see cref="ClickHouseServerProcess.Hang"/>.
    /// </summary>
    public void Hang(bool hung = true) =>
        ClickHouseServerProcess.Hang(ProcessId ?? throw new InvalidOperationException("Only a ClickHouse server this fixture started can be hung."), hung);

    /// <summary>What <c>SELECT version()</c> answered.</summary>
    public string ServerVersion { get; private set; } = "";

    /// <summary>A database name no other test uses.</summary>
    public static string NewDatabaseName(string purpose)
    {
        var readable = new string(purpose.Where(char.IsAsciiLetterOrDigit).Take(20).ToArray()).ToLowerInvariant();
        return $"test_{readable}_{Guid.NewGuid():N}";
    }

    public async Task InitializeAsync()
    {
        var external = _externalUrl;
        if (!string.IsNullOrWhiteSpace(external))
        {
            IsExternal = true;
            _url = new Uri(external.EndsWith('/') ? external : external + "/");
            ServerVersion = await QueryVersionAsync(_url, expectedDisplayName: null, CancellationToken.None)
                ?? throw new InvalidOperationException($"{UrlVariable}={external} does not answer SELECT version().");
            return;
        }

        var binary = _binary;
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException(
                $"ClickHouse tests need a server: '{binary}' does not exist. Install it (Debian: apt-get install -y clickhouse-server clickhouse-client), " +
                $"point {BinaryVariable} at a clickhouse-server binary, or set {UrlVariable} to a running server's HTTP URL (e.g. http://127.0.0.1:8123/).");
        }

        var failures = new StringBuilder();
        for (var attempt = 1; attempt <= StartAttempts; attempt++)
        {
            var (started, why) = await TryStartAsync(binary);
            if (started)
            {
                return;
            }

            failures.AppendLine($"Attempt {attempt}: {why}");
            await StopAsync();
            if (!why.Contains("Address already in use", StringComparison.OrdinalIgnoreCase))
            {
                break;
            }
        }

        throw new InvalidOperationException($"clickhouse-server did not start.{Environment.NewLine}{failures}");
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
    }

    private async Task<(bool Started, string Why)> TryStartAsync(string binary)
    {
        _directory = Directory.CreateTempSubdirectory("errorhub-clickhouse-").FullName;
        var ports = ClickHouseServerProcess.FreePorts(3);
        var displayName = "errorhub-test-" + Guid.NewGuid().ToString("N");
        var configPath = ClickHouseServerProcess.WriteConfig(_directory, displayName, ports[0], ports[1], ports[2], cacheBytes: 268435456, systemLogs: SystemLogs);
        var url = new Uri($"http://127.0.0.1:{ports[0]}/");
        _process = ClickHouseServerProcess.Start("clickhouse-server", binary, _directory, configPath, ServerEnvironment);

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                return (false, $"the server exited.{Environment.NewLine}{ClickHouseServerProcess.DescribeLogs(_directory, _process)}");
            }

            if (await QueryVersionAsync(url, displayName, CancellationToken.None) is { } version)
            {
                _url = url;
                ServerVersion = version;
                return (true, "");
            }

            await Task.Delay(100);
        }

        return (false, $"no answer to SELECT version() on {url} within {StartTimeout.TotalSeconds:0} s.{Environment.NewLine}{ClickHouseServerProcess.DescribeLogs(_directory, _process)}");
    }

    private async Task<string?> QueryVersionAsync(Uri url, string? expectedDisplayName, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new StringContent("SELECT version()");
            using var response = await _http.PostAsync(url, content, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            if (expectedDisplayName is not null
                && !(response.Headers.TryGetValues("X-ClickHouse-Server-Display-Name", out var names) && names.Contains(expectedDisplayName)))
            {
                return null;
            }

            return (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    private async Task StopAsync()
    {
        if (_process is { } process)
        {
            await process.DisposeAsync();
            _process = null;
        }

        if (_directory is { } directory)
        {
            await ClickHouseServerProcess.DeleteDirectoryAsync(directory);
            _directory = null;
        }
    }
}
