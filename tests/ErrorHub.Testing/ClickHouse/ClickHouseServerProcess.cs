using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security;
using System.Text;

namespace ErrorHub.Testing.ClickHouse;

/// <summary>
/// What starting a throwaway <c>clickhouse-server</c> takes, shared by the single-server and the cluster fixture:
/// free loopback ports, a configuration in the server's own directory (logs, data, users), the process with its
/// console kept, what its logs say when it fails, and removing the directory afterwards.
/// </summary>
internal static class ClickHouseServerProcess
{
    /// <summary>Distinct loopback ports the system considers free right now; a race with another process is caught by retrying the start.</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
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

    /// <summary>
    /// Writes <c>config.xml</c> and <c>users.xml</c> into <paramref name="directory"/> and returns the configuration's path.
    /// The display name comes back in every answer's headers: proof that the server answering on the port is the one
    /// started here, not another one that won the port. <paramref name="clusterXml"/> is added inside the root element.
    /// <paramref name="systemLogs"/> keeps <c>system.query_log</c> and <c>system.part_log</c> (flushed every second): what a
    /// benchmark reads to say where the server's work went; off for tests, which do not need the server to write them.
    /// </summary>
    public static string WriteConfig(
        string directory, string displayName, int httpPort, int tcpPort, int interserverPort, long cacheBytes, string clusterXml = "", bool systemLogs = false)
    {
        static string Escape(string path) => SecurityElement.Escape(path);
        var log = Path.Combine(directory, "log");
        Directory.CreateDirectory(log);
        var usersPath = Path.Combine(directory, "users.xml");

        // <yandex> is the root element 18.x requires; current servers still accept it.
        File.WriteAllText(usersPath, $"""
            <?xml version="1.0"?>
            <yandex>
              <profiles><default>{(systemLogs ? "<log_queries>1</log_queries>" : "")}</default></profiles>
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
              <interserver_http_host>127.0.0.1</interserver_http_host>
              <path>{Escape(Path.Combine(directory, "data"))}/</path>
              <tmp_path>{Escape(Path.Combine(directory, "tmp"))}/</tmp_path>
              <user_files_path>{Escape(Path.Combine(directory, "user_files"))}/</user_files_path>
              <format_schema_path>{Escape(Path.Combine(directory, "format_schemas"))}/</format_schema_path>
              <users_config>{Escape(usersPath)}</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <mark_cache_size>{cacheBytes}</mark_cache_size>
              <uncompressed_cache_size>{cacheBytes}</uncompressed_cache_size>
              <max_concurrent_queries>50</max_concurrent_queries>
            {(systemLogs ? SystemLogsXml : "")}
            {clusterXml}
            </yandex>
            """);
        return configPath;
    }

    private const string SystemLogsXml = """
        <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>
          <part_log><database>system</database><table>part_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></part_log>
        """;

    /// <summary>
    /// Hangs a server (SIGSTOP) or lets it go on (SIGCONT): a hung node, stuck on a disk or a lock, whose kernel still
    /// accepts connections while the server answers nothing. A test that hangs a server resumes it in a <c>finally</c>.
    /// </summary>
    public static void Hang(int processId, bool hung)
    {
        using var kill = Process.Start("kill", [hung ? "-STOP" : "-CONT", processId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill {(hung ? "-STOP" : "-CONT")} {processId} failed with exit code {kill.ExitCode}.");
        }
    }

    public static ChildProcess Start(string name, string binary, string directory, string configPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(binary)
        {
            ArgumentList = { $"--config-file={configPath}" },
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[variable] = value;
        }

        return ChildProcess.Start(name, startInfo);
    }

    /// <summary>The console and the last lines of both server logs: where a crash's stack trace (18.16 logs it on SIGSEGV) and ZooKeeper trouble show.</summary>
    public static string DescribeLogs(string? directory, ChildProcess? process, int lines = 40)
    {
        var text = new StringBuilder();
        if (process is not null)
        {
            text.AppendLine(process.HasExited ? $"The process exited with code {process.ExitCode}. Console:" : "Console:").AppendLine(process.Output);
        }

        foreach (var name in new[] { "clickhouse-server.err.log", "clickhouse-server.log" })
        {
            var path = directory is null ? null : Path.Combine(directory, "log", name);
            if (path is not null && File.Exists(path))
            {
                text.AppendLine($"{name} (last lines):").AppendJoin(Environment.NewLine, ReadLastLines(path, lines)).AppendLine();
            }
        }

        return text.ToString();
    }

    /// <summary>The log lines that mention <paramref name="word"/>, for readiness checks that read what the server says of itself.</summary>
    public static IEnumerable<string> LogLinesMentioning(string directory, string word)
    {
        var path = Path.Combine(directory, "log", "clickhouse-server.err.log");
        return File.Exists(path) ? ReadShared(path).Where(line => line.Contains(word, StringComparison.Ordinal)) : [];
    }

    public static async Task DeleteDirectoryAsync(string directory)
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
    }

    private static IEnumerable<string> ReadLastLines(string path, int count) => ReadShared(path).TakeLast(count);

    // The server still writes the file: open it without asking for exclusive access.
    private static List<string> ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }
}

/// <summary>A child process of a fixture with its output kept (bounded) for failure messages; disposing kills it.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ChildProcess(Process process) => _process = process;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public int Id => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private const string SystemLogsXml = """
        <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>
          <part_log><database>system</database><table>part_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></part_log>
        """;

    public static ChildProcess Start(string name, ProcessStartInfo startInfo)
    {
        var process = new Process { StartInfo = startInfo };
        var result = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => result.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => result.Capture(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"{name} did not start: {startInfo.FileName}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 64 * 1024)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await _process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited on its own between the check and the kill.
        }
        finally
        {
            _process.Dispose();
        }
    }
}
