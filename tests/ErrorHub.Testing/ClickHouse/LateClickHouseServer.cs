namespace ErrorHub.Testing.ClickHouse;

/// <summary>
/// A clickhouse-server whose ports are chosen before it starts: for a test that starts ErrorHub first, pointed at where the
/// server will be (containers started together, or in the wrong order), and the server afterwards.
/// </summary>
public sealed class LateClickHouseServer : IAsyncDisposable
{
    private readonly int[] _ports = ClickHouseServerProcess.FreePorts(3);
    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-late-clickhouse-").FullName;
    private ChildProcess? _process;

    /// <summary>Where the server answers once started; nothing listens there before.</summary>
    public Uri Url => new($"http://127.0.0.1:{_ports[0]}/");

    public bool HasExited => _process?.HasExited ?? false;

    public void Start()
    {
        var configPath = ClickHouseServerProcess.WriteConfig(_directory, "errorhub-late-" + Guid.NewGuid().ToString("N"), _ports[0], _ports[1], _ports[2], cacheBytes: 268435456);
        _process = ClickHouseServerProcess.Start("clickhouse-server", ClickHouseServerFixture.ConfiguredBinary, _directory, configPath);
    }

    /// <summary>The console and the server's logs, for a failure message.</summary>
    public string DescribeLogs() => ClickHouseServerProcess.DescribeLogs(_directory, _process);

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        await ClickHouseServerProcess.DeleteDirectoryAsync(_directory);
    }
}
