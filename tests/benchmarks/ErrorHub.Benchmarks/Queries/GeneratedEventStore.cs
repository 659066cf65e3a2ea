using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Benchmarks.Queries;

/// <summary>
/// The store of <see cref="DashboardQueryBenchmark"/> and <see cref="LateRecountBenchmark"/>, opened as the dashboard opens it:
/// a SQLite file in a folder of its own, or a database on a ClickHouse server of its own; filled from an
/// <see cref="EventGenerator"/> through the store's writer. Disposing stops the server and deletes the folder.
/// </summary>
internal sealed class GeneratedEventStore : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly ClickHouseServerFixture? _server;
    private readonly string _directory;

    private GeneratedEventStore(ServiceProvider provider, ClickHouseServerFixture? server, string directory, string? database)
    {
        _provider = provider;
        _server = server;
        _directory = directory;
        Database = database;
        Hub = provider.GetRequiredService<ErrorHubStore>();
    }

    public ErrorHubStore Hub { get; }

    public ClickHouseServerFixture? Server => _server;

    /// <summary>The ClickHouse database; null on SQLite.</summary>
    public string? Database { get; }

    /// <summary>The SQLite file (on ClickHouse: none is made).</summary>
    public string SqlitePath => Path.Combine(_directory, "errorhub.db");

    /// <summary>
    /// Opens the <paramref name="store"/> ("sqlite" or "clickhouse"); on ClickHouse in <paramref name="database"/> when given
    /// (a database an earlier run filled on a server kept running), else in a new one named after <paramref name="name"/>.
    /// </summary>
    public static async Task<GeneratedEventStore> OpenAsync(string store, string name, string? database = null)
    {
        ClickHouseServerFixture? server = null;
        var directory = Path.Combine(Path.GetTempPath(), $"errorhub-{name}-" + Guid.NewGuid().ToString("N"));
        var services = new ServiceCollection().AddLogging();
        if (store == "clickhouse")
        {
            server = new ClickHouseServerFixture();
            await server.InitializeAsync();
            Console.WriteLine($"ClickHouse {server.ServerVersion} at {server.Url}");
            database ??= ClickHouseServerFixture.NewDatabaseName(name);
            services.Configure<StoreOptions>(o =>
            {
                o.Kind = StoreOptions.ClickHouseKind;
                o.ClickHouse.Url = server.Url.ToString();
                o.ClickHouse.Database = database;
            });
        }
        else
        {
            database = null;
            Directory.CreateDirectory(directory);
            services.Configure<StoreOptions>(o => o.Sqlite.Path = Path.Combine(directory, "errorhub.db"));
        }

        return new GeneratedEventStore(services.AddErrorHubStore().BuildServiceProvider(), server, directory, database);
    }

    /// <summary>Writes the next <paramref name="count"/> events of <paramref name="generator"/>, in batches as large as the store takes well; tells each batch's running total.</summary>
    public async Task FillAsync(EventGenerator generator, int count, Action<int>? written = null)
    {
        var batchSize = _server is not null ? 50_000 : 10_000;
        for (var done = 0; done < count;)
        {
            var batch = generator.Next(Math.Min(batchSize, count - done));
            await Hub.Events.InsertEventsAsync(batch);
            done += batch.Count;
            written?.Invoke(done);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
