using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security;
using System.Text;
using Xunit;

namespace ErrorHub.Testing.ClickHouse;

/// <summary>
/// A real ClickHouse cluster for a test run: Debian's ZooKeeper and two <c>clickhouse-server</c> processes,
/// all on free loopback ports with their data in one temporary directory. The cluster
/// (<see cref="ClusterName"/>) is one shard with two replicas, so every node holds all data; each node
/// has its <c>shard</c> and <c>replica</c> macros. A node can be killed and started again
/// (<see cref="ClickHouseClusterNode.KillAsync"/>, <see cref="ClickHouseClusterNode.StartAsync"/>) on the same
/// ports and data. A missing ZooKeeper or server fails the tests with how to install it: nothing is skipped.
/// </summary>
public sealed class ClickHouseClusterFixture : IAsyncLifetime
{
    public const string ClusterName = "errorhub_test";
    public const string ZooKeeperJarVariable = "ERRORHUB_TEST_ZOOKEEPER_JAR";

    /// <summary>Set to 1 to keep the cluster's directory (configurations, server logs) after the run, to see why a test failed.</summary>
    public const string KeepDirectoryVariable = "ERRORHUB_TEST_KEEP_CLUSTER";

    private const string DefaultZooKeeperJar = "/usr/share/java/zookeeper.jar";
    private const string DefaultJava = "/usr/bin/java";
    private const int StartAttempts = 3;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly List<ClickHouseClusterNode> _nodes = [];
    private readonly string _binary;
    private readonly string _zooKeeperJar;
    private ClusterProcess? _zooKeeper;
    private string? _directory;

    /// <summary>Configured by the environment: what xunit calls.</summary>
    public ClickHouseClusterFixture()
        : this(
            Environment.GetEnvironmentVariable(ClickHouseServerFixture.BinaryVariable) ?? "/usr/sbin/clickhouse-server",
            Environment.GetEnvironmentVariable(ZooKeeperJarVariable) ?? DefaultZooKeeperJar)
    {
    }

    private ClickHouseClusterFixture(string binary, string zooKeeperJar)
    {
        _binary = binary;
        _zooKeeperJar = zooKeeperJar;
    }

    /// <summary>A fixture that ignores the environment, for testing the fixture itself.</summary>
    public static ClickHouseClusterFixture Create(string binary, string zooKeeperJar) => new(binary, zooKeeperJar);

    /// <summary>The two nodes, in the order of <c>remote_servers</c>.</summary>
    public IReadOnlyList<ClickHouseClusterNode> Nodes => _nodes;

    public async Task InitializeAsync()
    {
        var (binary, zooKeeperJar) = (_binary, _zooKeeperJar);
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException(
                $"The ClickHouse cluster tests need a server: '{binary}' does not exist. Install it (Debian: apt-get install -y clickhouse-server clickhouse-client) " +
                $"or point {ClickHouseServerFixture.BinaryVariable} at a clickhouse-server binary.");
        }

        if (!File.Exists(zooKeeperJar) || !File.Exists(DefaultJava))
        {
            throw new InvalidOperationException(
                $"The ClickHouse cluster tests need ZooKeeper: '{zooKeeperJar}' or '{DefaultJava}' does not exist. Install it (Debian: apt-get install -y zookeeper) " +
                $"or point {ZooKeeperJarVariable} at a zookeeper jar whose manifest names its dependencies.");
        }

        var failures = new StringBuilder();
        for (var attempt = 1; attempt <= StartAttempts; attempt++)
        {
            try
            {
                await StartClusterAsync(binary, zooKeeperJar);
                return;
            }
            catch (ClusterStartException ex)
            {
                failures.AppendLine($"Attempt {attempt}: {ex.Message}");
                await StopAllAsync();
                if (!ex.Message.Contains("already in use", StringComparison.OrdinalIgnoreCase))
                {
                    break;
                }
            }
        }

        throw new InvalidOperationException($"The ClickHouse cluster did not start.{Environment.NewLine}{failures}");
    }

    public Task DisposeAsync() => StopAllAsync();

    private async Task StartClusterAsync(string binary, string zooKeeperJar)
    {
        _directory = Directory.CreateTempSubdirectory("errorhub-cluster-").FullName;
        var ports = FreePorts(7);
        var zooKeeperPort = ports[0];
        _zooKeeper = StartZooKeeper(Path.Combine(_directory, "zookeeper"), zooKeeperJar, zooKeeperPort);
        await WaitForZooKeeperAsync(_zooKeeper, zooKeeperPort);

        var replicas = new[] { (Http: ports[1], Tcp: ports[2], Interserver: ports[3]), (Http: ports[4], Tcp: ports[5], Interserver: ports[6]) };
        for (var i = 0; i < replicas.Length; i++)
        {
            var node = new ClickHouseClusterNode(
                $"node{i + 1}",
                binary,
                Path.Combine(_directory, $"node{i + 1}"),
                replicas[i].Http,
                replicas[i].Tcp,
                replicas[i].Interserver,
                zooKeeperPort,
                replicas.Select(r => r.Tcp).ToArray());
            _nodes.Add(node);
        }

        // Both at once: on two cores a server takes seconds to start.
        var started = await Task.WhenAll(_nodes.Select(node => node.TryStartAsync(StartTimeout)));
        if (started.FirstOrDefault(why => why is not null) is { } failure)
        {
            throw new ClusterStartException(failure);
        }
    }

    private static ClusterProcess StartZooKeeper(string directory, string jar, int port)
    {
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        var config = Path.Combine(directory, "zoo.cfg");
        // Standalone, loopback only, no admin web server (it would take port 8080), and the session
        // limits ClickHouse asks for (its default session timeout is 30 s: maxSessionTimeout must allow it).
        File.WriteAllText(config, $"""
            tickTime=500
            minSessionTimeout=1000
            maxSessionTimeout=60000
            dataDir={Path.Combine(directory, "data")}
            clientPort={port}
            clientPortAddress=127.0.0.1
            admin.enableServer=false
            maxClientCnxns=0
            4lw.commands.whitelist=ruok,srvr
            """);
        var startInfo = new ProcessStartInfo(DefaultJava)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-Xmx128m", "-XX:+UseSerialGC", "-cp", jar, "org.apache.zookeeper.server.ZooKeeperServerMain", config })
        {
            startInfo.ArgumentList.Add(argument);
        }

        return ClusterProcess.Start("zookeeper", startInfo);
    }

    private static async Task WaitForZooKeeperAsync(ClusterProcess zooKeeper, int port)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (zooKeeper.HasExited)
            {
                throw new ClusterStartException($"ZooKeeper exited.{Environment.NewLine}{zooKeeper.Output}");
            }

            if (await AnswersImOkAsync(port))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new ClusterStartException($"ZooKeeper did not answer 'ruok' on 127.0.0.1:{port} within {StartTimeout.TotalSeconds:0} s.{Environment.NewLine}{zooKeeper.Output}");
    }

    private static async Task<bool> AnswersImOkAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("ruok"u8.ToArray(), timeout.Token);
            var buffer = new byte[4];
            var read = await stream.ReadAtLeastAsync(buffer, 4, throwOnEndOfStream: false, timeout.Token);
            return read == 4 && buffer.AsSpan().SequenceEqual("imok"u8);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private async Task StopAllAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _nodes.Clear();
        if (_zooKeeper is { } zooKeeper)
        {
            await zooKeeper.DisposeAsync();
            _zooKeeper = null;
        }

        if (_directory is { } directory && Environment.GetEnvironmentVariable(KeepDirectoryVariable) != "1")
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

    private static int[] FreePorts(int count)
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

    private sealed class ClusterStartException(string message) : Exception(message);
}

/// <summary>One <c>clickhouse-server</c> of <see cref="ClickHouseClusterFixture"/>: its HTTP interface, and kill and start for fault tests.</summary>
public sealed class ClickHouseClusterNode : IAsyncDisposable
{
    private static readonly TimeSpan RestartTimeout = TimeSpan.FromSeconds(90);

    private readonly string _binary;
    private readonly string _directory;
    private readonly string _configPath;
    private readonly string _displayName;
    // Dropping a database of replicated tables or waiting for a replica to sync takes seconds on a busy machine.
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(2) };
    private ClusterProcess? _process;

    internal ClickHouseClusterNode(string name, string binary, string directory, int httpPort, int tcpPort, int interserverPort, int zooKeeperPort, int[] replicaTcpPorts)
    {
        Name = name;
        _binary = binary;
        _directory = directory;
        Directory.CreateDirectory(directory);
        _displayName = "errorhub-test-" + name + "-" + Guid.NewGuid().ToString("N");
        Url = new Uri($"http://127.0.0.1:{httpPort}/");
        _configPath = WriteConfig(directory, name, _displayName, httpPort, tcpPort, interserverPort, zooKeeperPort, replicaTcpPorts);
    }

    /// <summary>The replica's name (its <c>replica</c> macro), e.g. <c>node1</c>.</summary>
    public string Name { get; }

    /// <summary>The HTTP interface, e.g. <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Url { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Kills the server (SIGKILL, no shutdown): what a crashed machine does.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            await process.DisposeAsync();
            _process = null;
        }
    }

    /// <summary>Starts the server again on its ports and data; fails when it does not answer as a cluster member in time.</summary>
    public async Task StartAsync()
    {
        if (await TryStartAsync(RestartTimeout) is { } why)
        {
            throw new InvalidOperationException($"{Name} did not start again: {why}");
        }
    }

    /// <summary>Runs a statement over HTTP and returns the answer's text; a refusal throws with ClickHouse's message.</summary>
    public async Task<string> QueryAsync(string sql, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(sql);
        using var response = await _http.PostAsync(Url, content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode ? text : throw new InvalidOperationException($"{Name} refused '{sql}': {text}");
    }

    internal async Task<string?> TryStartAsync(TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo(_binary)
        {
            ArgumentList = { $"--config-file={_configPath}" },
            WorkingDirectory = _directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = ClusterProcess.Start(Name, startInfo);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                return $"{Name} exited.{Environment.NewLine}{DescribeLogs()}";
            }

            // Answering is not enough: replicated tables need the node's ZooKeeper session.
            if (await IsOurServerInTheClusterAsync())
            {
                return null;
            }

            await Task.Delay(100);
        }

        return $"{Name} did not answer on {Url} with a ZooKeeper session within {timeout.TotalSeconds:0} s.{Environment.NewLine}{DescribeLogs()}";
    }

    private async Task<bool> IsOurServerInTheClusterAsync()
    {
        try
        {
            using var content = new StringContent("SELECT count() FROM system.zookeeper WHERE path = '/'");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var response = await _http.PostAsync(Url, content, timeout.Token);
            return response.IsSuccessStatusCode
                && response.Headers.TryGetValues("X-ClickHouse-Server-Display-Name", out var names) && names.Contains(_displayName);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private string DescribeLogs()
    {
        var text = new StringBuilder().AppendLine(_process?.Output.ToString());
        var path = Path.Combine(_directory, "log", "clickhouse-server.err.log");
        if (File.Exists(path))
        {
            text.AppendLine("clickhouse-server.err.log (last lines):").AppendJoin(Environment.NewLine, File.ReadAllLines(path).TakeLast(30)).AppendLine();
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _http.Dispose();
    }

    private static string WriteConfig(
        string directory, string name, string displayName, int httpPort, int tcpPort, int interserverPort, int zooKeeperPort, int[] replicaTcpPorts)
    {
        static string Escape(string path) => SecurityElement.Escape(path);
        var log = Path.Combine(directory, "log");
        Directory.CreateDirectory(log);
        var usersPath = Path.Combine(directory, "users.xml");
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

        var replicas = string.Concat(replicaTcpPorts.Select(port => $"<replica><host>127.0.0.1</host><port>{port}</port></replica>"));
        var configPath = Path.Combine(directory, "config.xml");
        // What a production node needs beyond a single server: zookeeper, remote_servers (the cluster
        // ErrorHub:Store:ClickHouse:Cluster names), macros, distributed_ddl (ON CLUSTER) and an
        // interserver address the other replica can fetch parts from. docs/deployment.md shows the same.
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
              <mark_cache_size>134217728</mark_cache_size>
              <uncompressed_cache_size>134217728</uncompressed_cache_size>
              <max_concurrent_queries>50</max_concurrent_queries>
              <zookeeper>
                <node><host>127.0.0.1</host><port>{zooKeeperPort}</port></node>
                <session_timeout_ms>30000</session_timeout_ms>
              </zookeeper>
              <remote_servers>
                <{ClickHouseClusterFixture.ClusterName}>
                  <shard>
                    <internal_replication>true</internal_replication>
                    {replicas}
                  </shard>
                </{ClickHouseClusterFixture.ClusterName}>
              </remote_servers>
              <macros>
                <shard>01</shard>
                <replica>{name}</replica>
              </macros>
              <distributed_ddl>
                <path>/clickhouse/task_queue/ddl</path>
              </distributed_ddl>
            </yandex>
            """);
        return configPath;
    }
}

/// <summary>A child process of the cluster with its output kept (bounded) for failure messages; disposing kills it.</summary>
internal sealed class ClusterProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ClusterProcess(Process process) => _process = process;

    public bool HasExited => _process.HasExited;

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

    public static ClusterProcess Start(string name, ProcessStartInfo startInfo)
    {
        var process = new Process { StartInfo = startInfo };
        var result = new ClusterProcess(process);
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
            if (_output.Length < 32 * 1024)
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
