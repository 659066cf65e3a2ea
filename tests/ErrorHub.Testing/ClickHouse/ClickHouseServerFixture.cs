using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security;
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
    private readonly StringBuilder _consoleOutput = new();
    private Process? _process;
    private string? _directory;
    private Uri? _url;

    /// <summary>Configured by the environment: what xunit calls.</summary>
    public ClickHouseServerFixture()
        : this(Environment.GetEnvironmentVariable(UrlVariable), Environment.GetEnvironmentVariable(BinaryVariable) ?? DefaultBinary)
    {
    }

    private ClickHouseServerFixture(string? externalUrl, string binary)
    {
        _externalUrl = externalUrl;
        _binary = binary;
    }

    /// <summary>A fixture that ignores the environment, for testing the fixture itself.</summary>
    public static ClickHouseServerFixture Create(string? externalUrl, string binary) => new(externalUrl, binary);

    /// <summary>The HTTP interface, e.g. <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Url => _url ?? throw new InvalidOperationException("The ClickHouse fixture has not started.");

    /// <summary>True when the tests use a server they did not start.</summary>
    public bool IsExternal { get; private set; }

    /// <summary>The server process this fixture started (null for an external server): for measuring its CPU and memory.</summary>
    public int? ProcessId => IsExternal ? null : _process?.Id;

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
        var (httpPort, tcpPort, interserverPort) = FreePorts();
        // The display name comes back in every answer's headers: proof that the server answering on
        // the port is the one we started, not another one that won the port.
        var displayName = "errorhub-test-" + Guid.NewGuid().ToString("N");
        var configPath = WriteConfig(_directory, displayName, httpPort, tcpPort, interserverPort);
        var url = new Uri($"http://127.0.0.1:{httpPort}/");

        var startInfo = new ProcessStartInfo(binary)
        {
            ArgumentList = { $"--config-file={configPath}" },
            WorkingDirectory = _directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = new Process { StartInfo = startInfo };
        _process.OutputDataReceived += (_, e) => Capture(e.Data);
        _process.ErrorDataReceived += (_, e) => Capture(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                return (false, $"the server exited with code {_process.ExitCode}.{Environment.NewLine}{DescribeLogs()}");
            }

            if (await QueryVersionAsync(url, displayName, CancellationToken.None) is { } version)
            {
                _url = url;
                ServerVersion = version;
                return (true, "");
            }

            await Task.Delay(100);
        }

        return (false, $"no answer to SELECT version() on {url} within {StartTimeout.TotalSeconds:0} s.{Environment.NewLine}{DescribeLogs()}");
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
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await process.WaitForExitAsync(timeout.Token);
                }
            }
            catch (InvalidOperationException)
            {
                // It exited on its own between the check and the kill.
            }
            finally
            {
                process.Dispose();
                _process = null;
            }
        }

        if (_directory is { } directory)
        {
            for (var i = 0; i < 5 && Directory.Exists(directory); i++)
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (IOException) when (i < 4)
                {
                    await Task.Delay(200);
                }
            }

            _directory = null;
        }
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_consoleOutput)
        {
            if (_consoleOutput.Length < 64 * 1024)
            {
                _consoleOutput.AppendLine(line);
            }
        }
    }

    private string DescribeLogs()
    {
        var text = new StringBuilder();
        lock (_consoleOutput)
        {
            text.AppendLine("Console:").AppendLine(_consoleOutput.ToString());
        }

        foreach (var name in new[] { "clickhouse-server.err.log", "clickhouse-server.log" })
        {
            var path = _directory is null ? null : Path.Combine(_directory, "log", name);
            if (path is not null && File.Exists(path))
            {
                var lines = File.ReadAllLines(path);
                text.AppendLine($"{name} (last lines):").AppendJoin(Environment.NewLine, lines.TakeLast(40)).AppendLine();
            }
        }

        return text.ToString();
    }

    /// <summary>Three distinct ports the system considers free right now; a race with another process is caught by retrying the start.</summary>
    private static (int Http, int Tcp, int Interserver) FreePorts()
    {
        var listeners = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
            return (ports[0], ports[1], ports[2]);
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }
    }

    private static string WriteConfig(string directory, string displayName, int httpPort, int tcpPort, int interserverPort)
    {
        string Escape(string path) => SecurityElement.Escape(path);
        var log = Path.Combine(directory, "log");
        Directory.CreateDirectory(log);
        var usersPath = Path.Combine(directory, "users.xml");

        // <yandex> is the root element 18.x requires; current servers still accept it.
        File.WriteAllText(usersPath, """
            <?xml version="1.0"?>
            <yandex>
              <profiles><default /></profiles>
              <users>
                <default>
                  <password></password>
                  <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
                  <profile>default</profile>
                  <quota>default</quota>
                </default>
              </users>
              <quotas><default /></quotas>
            </yandex>
            """);

        var configPath = Path.Combine(directory, "config.xml");
        File.WriteAllText(configPath, $"""
            <?xml version="1.0"?>
            <yandex>
              <logger>
                <level>information</level>
                <log>{Escape(Path.Combine(log, "clickhouse-server.log"))}</log>
                <errorlog>{Escape(Path.Combine(log, "clickhouse-server.err.log"))}</errorlog>
                <console>0</console>
              </logger>
              <display_name>{displayName}</display_name>
              <listen_host>127.0.0.1</listen_host>
              <http_port>{httpPort}</http_port>
              <tcp_port>{tcpPort}</tcp_port>
              <interserver_http_port>{interserverPort}</interserver_http_port>
              <path>{Escape(Path.Combine(directory, "data"))}/</path>
              <tmp_path>{Escape(Path.Combine(directory, "tmp"))}/</tmp_path>
              <user_files_path>{Escape(Path.Combine(directory, "user_files"))}/</user_files_path>
              <format_schema_path>{Escape(Path.Combine(directory, "format_schemas"))}/</format_schema_path>
              <users_config>{Escape(usersPath)}</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <mark_cache_size>268435456</mark_cache_size>
              <uncompressed_cache_size>268435456</uncompressed_cache_size>
              <max_concurrent_queries>50</max_concurrent_queries>
            </yandex>
            """);
        return configPath;
    }
}
