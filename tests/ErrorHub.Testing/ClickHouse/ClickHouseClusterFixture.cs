using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
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
/// A node that dies on its own is reported by <see cref="EnsureNodesRunAsync"/> with its log, and started again.
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
    private readonly int _shards;
    private ChildProcess? _zooKeeper;
    private int _zooKeeperPort;
    private string? _directory;

    /// <summary>Configured by the environment: what xunit calls.</summary>
    public ClickHouseClusterFixture()
        : this(
            Environment.GetEnvironmentVariable(ClickHouseServerFixture.BinaryVariable) ?? "/usr/sbin/clickhouse-server",
            Environment.GetEnvironmentVariable(ZooKeeperJarVariable) ?? DefaultZooKeeperJar)
    {
    }

    private ClickHouseClusterFixture(string binary, string zooKeeperJar, int shards = 1)
    {
        _binary = binary;
        _zooKeeperJar = zooKeeperJar;
        _shards = shards;
    }

    /// <summary>A fixture that ignores the environment, for testing the fixture itself.</summary>
    public static ClickHouseClusterFixture Create(string binary, string zooKeeperJar) => new(binary, zooKeeperJar);

    /// <summary>The same two nodes, each its own shard of one replica (shards <c>01</c> and <c>02</c>): where Distributed tables really spread data.</summary>
    public static ClickHouseClusterFixture CreateTwoShards() => new(
        Environment.GetEnvironmentVariable(ClickHouseServerFixture.BinaryVariable) ?? "/usr/sbin/clickhouse-server",
        Environment.GetEnvironmentVariable(ZooKeeperJarVariable) ?? DefaultZooKeeperJar,
        shards: 2);

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

    /// <summary>
    /// Fails with the server's own account (its console and log tail, where 18.16 writes a crash's stack trace)
    /// when a node died since the last look, after starting it again so the next tests find the cluster whole.
    /// Nodes stopped on purpose (<see cref="ClickHouseClusterNode.KillAsync"/>) are left alone.
    /// </summary>
    public async Task EnsureNodesRunAsync()
    {
        var deaths = new StringBuilder();
        if (_zooKeeper is { HasExited: true } zooKeeper)
        {
            deaths.AppendLine("ZooKeeper died on its own:").AppendLine(zooKeeper.Output);
            _zooKeeper = null;
        }

        // A test that stopped ZooKeeper on purpose and failed before starting it again must not leave the next ones without it.
        await StartZooKeeperAsync();
        foreach (var node in _nodes.Where(node => node.HasDied))
        {
            deaths.AppendLine($"ClickHouse {node.Name} died on its own:").AppendLine(node.DescribeLogs());
            await node.StartAsync();
        }

        if (deaths.Length > 0)
        {
            throw new InvalidOperationException(deaths.ToString());
        }
    }

    /// <summary>ZooKeeper runs (it is stopped only by <see cref="StopZooKeeperAsync"/>).</summary>
    public bool ZooKeeperRuns => _zooKeeper is { HasExited: false };

    /// <summary>
    /// Kills ZooKeeper (SIGKILL): every replicated table of both nodes turns read-only once the nodes notice, and ON CLUSTER
    /// statements cannot be queued. The nodes keep running. <see cref="StartZooKeeperAsync"/> brings it back on its port and data.
    /// </summary>
    public async Task StopZooKeeperAsync()
    {
        if (_zooKeeper is { } zooKeeper)
        {
            await zooKeeper.DisposeAsync();
            _zooKeeper = null;
        }
    }

    /// <summary>
    /// Starts ZooKeeper again on its port and data (what it knew survives) and waits until it grants sessions, and until every
    /// running node has its session back with no replicated table left read-only and its DDL worker settled (18.16 crashes on
    /// an ON CLUSTER statement that reaches a DDL worker still without its session): the next test finds a whole cluster.
    /// </summary>
    public async Task StartZooKeeperAsync()
    {
        var directory = _directory ?? throw new InvalidOperationException("The cluster has not started.");
        if (ZooKeeperRuns)
        {
            return;
        }

        await StopZooKeeperAsync();
        _zooKeeper = StartZooKeeper(Path.Combine(directory, "zookeeper"), _zooKeeperJar, _zooKeeperPort);
        try
        {
            await WaitForZooKeeperSessionsAsync(_zooKeeper, _zooKeeperPort);
        }
        catch (ClusterStartException ex)
        {
            throw new InvalidOperationException(ex.Message, ex);
        }

        foreach (var node in _nodes.Where(node => node.IsRunning))
        {
            await node.WaitForZooKeeperAgainAsync(StartTimeout);
        }
    }

    /// <summary>
    /// A third node configured like the others but pointed at a ZooKeeper port where nothing listens: a cluster member
    /// that never gets a ZooKeeper session, as when ZooKeeper is unreachable from it. With <paramref name="zooKeeperConfigured"/>
    /// false its configuration has no <c>&lt;zookeeper&gt;</c> section at all (a node set up as a single server, then named in a
    /// cluster). The caller disposes it.
    /// </summary>
    public async Task<ClickHouseClusterNode> StartNodeWithoutZooKeeperAsync(bool zooKeeperConfigured = true)
    {
        var directory = _directory ?? throw new InvalidOperationException("The cluster has not started.");
        var ports = ClickHouseServerProcess.FreePorts(4);
        var node = new ClickHouseClusterNode(
            "lonely" + Guid.NewGuid().ToString("N")[..8], _binary, Path.Combine(directory, "lonely-" + Guid.NewGuid().ToString("N")), ports[0], ports[1], ports[2],
            zooKeeperConfigured ? ports[3] : null, ShardsXml([[ports[1]]]), "01");
        if (await node.TryStartAsync(StartTimeout, requireZooKeeper: false) is { } why)
        {
            await node.DisposeAsync();
            throw new InvalidOperationException(why);
        }

        return node;
    }

    private async Task StartClusterAsync(string binary, string zooKeeperJar)
    {
        _directory = Directory.CreateTempSubdirectory("errorhub-cluster-").FullName;
        var ports = ClickHouseServerProcess.FreePorts(7);
        var zooKeeperPort = _zooKeeperPort = ports[0];
        _zooKeeper = StartZooKeeper(Path.Combine(_directory, "zookeeper"), zooKeeperJar, zooKeeperPort);
        // Only once ZooKeeper hands out sessions may the servers start: 18.16 crashes on an ON CLUSTER statement
        // that arrives before its DDL worker has its ZooKeeper session (docs/deployment.md).
        await WaitForZooKeeperSessionsAsync(_zooKeeper, zooKeeperPort);

        var replicas = new[] { (Http: ports[1], Tcp: ports[2], Interserver: ports[3]), (Http: ports[4], Tcp: ports[5], Interserver: ports[6]) };
        // One shard of both nodes, or each node a shard of its own.
        var shards = _shards == 1 ? [replicas.Select(r => r.Tcp).ToArray()] : replicas.Select(r => new[] { r.Tcp }).ToArray();
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
                ShardsXml(shards),
                _shards == 1 ? "01" : $"{i + 1:00}");
            _nodes.Add(node);
        }

        // Both at once: on two cores a server takes seconds to start.
        var started = await Task.WhenAll(_nodes.Select(node => node.TryStartAsync(StartTimeout)));
        if (started.FirstOrDefault(why => why is not null) is { } failure)
        {
            throw new ClusterStartException(failure);
        }
    }

    private static string ShardsXml(int[][] shards) => string.Concat(shards.Select(replicas =>
        "<shard><internal_replication>true</internal_replication>" +
        string.Concat(replicas.Select(port => $"<replica><host>127.0.0.1</host><port>{port}</port></replica>")) +
        "</shard>"));

    private static ChildProcess StartZooKeeper(string directory, string jar, int port)
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

        return ChildProcess.Start("zookeeper", startInfo);
    }

    private static async Task WaitForZooKeeperSessionsAsync(ChildProcess zooKeeper, int port)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (zooKeeper.HasExited)
            {
                throw new ClusterStartException($"ZooKeeper exited.{Environment.NewLine}{zooKeeper.Output}");
            }

            if (await GrantsASessionAsync(port))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new ClusterStartException($"ZooKeeper did not grant a session on 127.0.0.1:{port} within {StartTimeout.TotalSeconds:0} s.{Environment.NewLine}{zooKeeper.Output}");
    }

    /// <summary>
    /// Opens a ZooKeeper session the way ClickHouse does (a ConnectRequest; ZooKeeper's wire format is big-endian and
    /// length-prefixed). <c>ruok</c> is not enough: ZooKeeper answers it while it still closes every session handshake,
    /// which is how a node came up without a session in the first place.
    /// </summary>
    private static async Task<bool> GrantsASessionAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            // length, protocol version 0, last zxid seen 0, session timeout (ms), session id 0, password of 16 zero bytes.
            var request = new byte[4 + 4 + 8 + 4 + 8 + 4 + 16];
            BinaryPrimitives.WriteInt32BigEndian(request, request.Length - 4);
            BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(16), 2000);
            BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(28), 16);
            await stream.WriteAsync(request, timeout.Token);
            var length = new byte[4];
            if (await stream.ReadAtLeastAsync(length, 4, throwOnEndOfStream: false, timeout.Token) < 4)
            {
                return false;
            }

            var size = BinaryPrimitives.ReadInt32BigEndian(length);
            if (size is < 16 or > 1024)
            {
                return false;
            }

            // protocol version, negotiated timeout, session id, password.
            var answer = new byte[size];
            return await stream.ReadAtLeastAsync(answer, size, throwOnEndOfStream: false, timeout.Token) == size
                && BinaryPrimitives.ReadInt64BigEndian(answer.AsSpan(8)) != 0;
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
            await ClickHouseServerProcess.DeleteDirectoryAsync(directory);
            _directory = null;
        }
    }

    private sealed class ClusterStartException(string message) : Exception(message);
}

/// <summary>One <c>clickhouse-server</c> of <see cref="ClickHouseClusterFixture"/>: its HTTP interface, and kill and start for fault tests.</summary>
public sealed class ClickHouseClusterNode : IAsyncDisposable
{
    private const string DdlWorker = "DDLWorker";
    private static readonly TimeSpan RestartTimeout = TimeSpan.FromSeconds(90);

    // How long a node's DDL worker may still be without its ZooKeeper session after the node has one: it retries about every second.
    private static readonly TimeSpan DdlWorkerRetry = TimeSpan.FromSeconds(3);

    private readonly string _binary;
    private readonly string _directory;
    private readonly string _configPath;
    private readonly string _displayName;

    // Bounded well below the test run's hang timeout: a statement that waits this long has met a stuck server, and says so.
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(90) };
    private ChildProcess? _process;

    internal ClickHouseClusterNode(
        string name, string binary, string directory, int httpPort, int tcpPort, int interserverPort, int? zooKeeperPort, string shardsXml, string shard)
    {
        Name = name;
        _binary = binary;
        _directory = directory;
        Directory.CreateDirectory(directory);
        _displayName = "errorhub-test-" + name + "-" + Guid.NewGuid().ToString("N");
        Url = new Uri($"http://127.0.0.1:{httpPort}/");
        // What a production node needs beyond a single server: zookeeper, remote_servers (the cluster
        // ErrorHub:Store:ClickHouse:Cluster names), macros, distributed_ddl (ON CLUSTER) and an
        // interserver address the other replica can fetch parts from. docs/deployment.md shows the same.
        var zooKeeperXml = zooKeeperPort is { } port
            ? $"""
              <zookeeper>
                <node><host>127.0.0.1</host><port>{port}</port></node>
                <session_timeout_ms>30000</session_timeout_ms>
              </zookeeper>
            """
            : "";
        _configPath = ClickHouseServerProcess.WriteConfig(directory, _displayName, httpPort, tcpPort, interserverPort, cacheBytes: 134217728, $"""
            {zooKeeperXml}
              <remote_servers>
                <{ClickHouseClusterFixture.ClusterName}>{shardsXml}</{ClickHouseClusterFixture.ClusterName}>
              </remote_servers>
              <macros>
                <shard>{shard}</shard>
                <replica>{name}</replica>
              </macros>
              <distributed_ddl>
                <path>/clickhouse/task_queue/ddl</path>
              </distributed_ddl>
            """);
    }

    /// <summary>The replica's name (its <c>replica</c> macro), e.g. <c>node1</c>.</summary>
    public string Name { get; }

    /// <summary>The HTTP interface, e.g. <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Url { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The server's process id while it runs.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException($"{Name} is not running.");

    /// <summary>The server exited without being killed by a test: a crash.</summary>
    public bool HasDied => _process is { HasExited: true };

    /// <summary>
    /// Hangs the server (SIGSTOP) or lets it go on (SIGCONT): a hung node, stuck on a disk or a lock, whose kernel still
    /// accepts connections while the server answers nothing. A test that hangs a node resumes it in a <c>finally</c>.
    /// </summary>
    public void Hang(bool hung = true) => ClickHouseServerProcess.Hang(ProcessId, hung);

    /// <summary>Kills the server (SIGKILL, no shutdown): what a crashed machine does.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            await process.DisposeAsync();
            _process = null;
        }
    }

    /// <summary>
    /// Kills the server and deletes its data and metadata (every database and table it had), keeping its configuration:
    /// what a node is after its disk was replaced. Its replicas' entries in ZooKeeper stay, as they would.
    /// <see cref="StartAsync"/> then starts it empty.
    /// </summary>
    public async Task KillAndWipeAsync()
    {
        await KillAsync();
        await ClickHouseServerProcess.DeleteDirectoryAsync(Path.Combine(_directory, "data"));
    }

    /// <summary>After ZooKeeper was back: waits until this node has its session again, every replicated table is writable, and its DDL worker had time to reconnect.</summary>
    public async Task WaitForZooKeeperAgainAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (await IsOurServerAsync("SELECT count() FROM system.zookeeper WHERE path = '/'")
                && (await QueryAsync("SELECT count() FROM system.replicas WHERE is_readonly OR is_session_expired")).Trim() == "0")
            {
                await Task.Delay(DdlWorkerRetry);
                return;
            }

            if (deadline.Elapsed > timeout)
            {
                throw new InvalidOperationException($"{Name} did not get its ZooKeeper session back within {timeout.TotalSeconds:0} s.{Environment.NewLine}{DescribeLogs()}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Starts the server again on its ports and data; fails when it does not answer as a cluster member in time.</summary>
    public async Task StartAsync()
    {
        await KillAsync();
        if (await TryStartAsync(RestartTimeout) is { } why)
        {
            throw new InvalidOperationException($"{Name} did not start again: {why}");
        }
    }

    /// <summary>
    /// Runs a statement over HTTP and returns the answer's text; a refusal throws with ClickHouse's message, a dead server with its log.
    /// <paramref name="settings"/> go in the URL (<c>name=value&amp;...</c>): 18.16 knows no SETTINGS clause on ALTER.
    /// </summary>
    public Task<string> QueryAsync(string sql, CancellationToken cancellationToken = default) => QueryAsync(sql, settings: null, cancellationToken);

    /// <inheritdoc cref="QueryAsync(string, CancellationToken)"/>
    public async Task<string> QueryAsync(string sql, string? settings, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(sql);
        HttpResponseMessage response;
        try
        {
            response = await _http.PostAsync(settings is null ? Url : new Uri(Url, "?" + settings), content, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            if (await HasJustDiedAsync())
            {
                throw new InvalidOperationException($"{Name} died while running '{sql}':{Environment.NewLine}{DescribeLogs()}", ex);
            }

            throw;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return response.IsSuccessStatusCode ? text : throw new InvalidOperationException($"{Name} refused '{sql}': {text}");
        }
    }

    // A crashing server writes its stack trace before it exits: give it a moment.
    private async Task<bool> HasJustDiedAsync()
    {
        for (var i = 0; i < 20 && IsRunning; i++)
        {
            await Task.Delay(100);
        }

        return HasDied;
    }

    /// <summary>The node's console and the last lines of its logs.</summary>
    public string DescribeLogs() => ClickHouseServerProcess.DescribeLogs(_directory, _process, lines: 60);

    internal async Task<string?> TryStartAsync(TimeSpan timeout, bool requireZooKeeper = true)
    {
        // The log survives restarts: only what this start adds counts.
        var ddlWorkerTroubleBefore = ClickHouseServerProcess.LogLinesMentioning(_directory, DdlWorker).Count();
        _process = ClickHouseServerProcess.Start(Name, _binary, _directory, _configPath);
        var deadline = Stopwatch.StartNew();
        var settledSince = (Stopwatch?)null;
        var lastTrouble = ddlWorkerTroubleBefore;
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                return $"{Name} exited.{Environment.NewLine}{DescribeLogs()}";
            }

            // Answering is not enough: replicated tables need the node's ZooKeeper session, and ON CLUSTER statements
            // its DDL worker's, which 18.16 takes separately (and retries about every second when it failed).
            if (!requireZooKeeper && await IsOurServerAsync("SELECT 1"))
            {
                return null;
            }

            if (requireZooKeeper && await IsOurServerAsync("SELECT count() FROM system.zookeeper WHERE path = '/'"))
            {
                var trouble = ClickHouseServerProcess.LogLinesMentioning(_directory, DdlWorker).Count();
                if (trouble == ddlWorkerTroubleBefore)
                {
                    return null;
                }

                if (trouble != lastTrouble || settledSince is null)
                {
                    (lastTrouble, settledSince) = (trouble, Stopwatch.StartNew());
                }
                else if (settledSince.Elapsed >= DdlWorkerRetry)
                {
                    return null;
                }
            }

            await Task.Delay(100);
        }

        return $"{Name} did not answer on {Url} with a ZooKeeper session within {timeout.TotalSeconds:0} s.{Environment.NewLine}{DescribeLogs()}";
    }

    private async Task<bool> IsOurServerAsync(string probe)
    {
        try
        {
            using var content = new StringContent(probe);
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

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _http.Dispose();
    }
}

/// <summary>
/// A second cluster for the tests that need data really spread over shards: two nodes, each a shard of one replica
/// (<see cref="ClickHouseClusterFixture.CreateTwoShards"/>).
/// </summary>
public sealed class ClickHouseTwoShardClusterFixture : IAsyncLifetime
{
    public ClickHouseClusterFixture Cluster { get; } = ClickHouseClusterFixture.CreateTwoShards();

    public Task InitializeAsync() => Cluster.InitializeAsync();

    public Task DisposeAsync() => Cluster.DisposeAsync();
}
