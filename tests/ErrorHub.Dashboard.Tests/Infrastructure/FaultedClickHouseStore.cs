using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>
/// A ClickHouse server of the test's own with a <see cref="ClickHouseFaultProxy"/> in front, and the store opened through the
/// proxy on a database of its own, seeded with <see cref="TemporaryStore.Admin"/>, <see cref="TestProjects.Shop"/> and the
/// test's events: for the tests of a change whose answer broke after ClickHouse took it.
/// </summary>
internal sealed class FaultedClickHouseStore : IAsyncDisposable
{
    private readonly ClickHouseServerFixture _clickHouse = ClickHouseServerFixture.Create(externalUrl: null, ClickHouseServerFixture.ConfiguredBinary);
    private readonly HttpClient _http = new(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromSeconds(30) };
    private ClickHouseFaultProxy? _proxy;
    private ErrorHubStore? _store;

    public ClickHouseFaultProxy Proxy => _proxy ?? throw new InvalidOperationException("The faulted store has not started.");

    public ErrorHubStore Store => _store ?? throw new InvalidOperationException("The faulted store has not started.");

    /// <param name="purpose">Names the test's database.</param>
    /// <param name="armed">A fault set (<see cref="ClickHouseFaultProxy.Arm"/>) before the store opens its first connection; <see cref="ClickHouseFault.None"/>: none.</param>
    public async Task StartAsync(string purpose, IReadOnlyList<ErrorEvent> events, ClickHouseFault armed = ClickHouseFault.None)
    {
        await _clickHouse.InitializeAsync();
        _proxy = ClickHouseFaultProxy.Start(_clickHouse.Url);
        if (armed != ClickHouseFault.None)
        {
            _proxy.Arm(armed);
        }

        _store = ClickHouseDatabase.Open(new ClickHouseClient(_http, new ClickHouseConnection(_proxy.Url)), ClickHouseServerFixture.NewDatabaseName(purpose));
        await _store.Schema.EnsureSchemaAsync();
        await _store.Access.CreateUserAsync(TemporaryStore.Admin);
        await _store.Projects.UpsertProjectAsync(TestProjects.Shop);
        await _store.Events.InsertEventsAsync(events);
    }

    public async ValueTask DisposeAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        _store?.Dispose();
        _http.Dispose();
        await _clickHouse.DisposeAsync();
    }
}
