using ErrorHub.Ingestion.Writing;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>How the group commit shapes inserts: few and large while the store is busy, and a second one only for a backlog.</summary>
public sealed class StoreWriterTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-writer-").FullName;
    private ServiceProvider _services = null!;
    private IIssueReader _issues = null!;
    private GatedStore _held = null!;
    private StoreWriter _writer = null!;

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddErrorHubStore();
        services.Configure<StoreOptions>(options => options.Sqlite.Path = Path.Combine(_directory, "errorhub.db"));
        _services = services.BuildServiceProvider();
        await _services.GetRequiredService<IStoreSchema>().EnsureSchemaAsync();
        _issues = _services.GetRequiredService<IIssueReader>();
        _held = new GatedStore(_services.GetRequiredService<IEventWriter>());
        _writer = new StoreWriter(_held, NullLogger<StoreWriter>.Instance);
        await _writer.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        _held.ReleaseAll();
        await _writer.StopAsync(CancellationToken.None);
        _writer.Dispose();
        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Batches_that_arrive_while_the_store_is_busy_go_in_together_in_the_next_insert()
    {
        var first = _writer.WriteAsync(Events(100), CancellationToken.None);
        await _held.InsertStartedAsync(1).WaitAsync(Patience);

        var waiting = Enumerable.Range(0, 3).Select(_ => _writer.WriteAsync(Events(100), CancellationToken.None)).ToList();
        _held.Release(1);
        await _held.InsertStartedAsync(2).WaitAsync(Patience);
        _held.Release(2);
        await Task.WhenAll([first, .. waiting]).WaitAsync(Patience);

        _held.Inserted.Should().Equal(100, 300);
        (await StoredAsync()).Should().Be(400);
    }

    [Fact]
    public async Task A_backlog_gets_a_second_insert_while_the_first_is_still_running()
    {
        var first = _writer.WriteAsync(Events(100), CancellationToken.None);
        await _held.InsertStartedAsync(1).WaitAsync(Patience);

        var backlog = Enumerable.Range(0, StoreWriter.MinEventsForSecondInsert / 100).Select(_ => _writer.WriteAsync(Events(100), CancellationToken.None)).ToList();
        await _held.InsertStartedAsync(2).WaitAsync(Patience);
        first.IsCompleted.Should().BeFalse("the first insert is still held");
        _held.Release(2);
        await Task.WhenAll(backlog).WaitAsync(Patience);
        _held.Release(1);
        await first.WaitAsync(Patience);

        _held.Inserted.Should().Equal(100, StoreWriter.MinEventsForSecondInsert);
        (await StoredAsync()).Should().Be(100 + StoreWriter.MinEventsForSecondInsert);
    }

    [Fact]
    public async Task Clients_answered_by_one_insert_who_send_again_at_once_join_the_next_insert_instead_of_making_one_of_their_own()
    {
        // A gather wait that cannot run out here: the test fails by timing out if the insert does not start once they joined.
        var held = new GatedStore(_services.GetRequiredService<IEventWriter>());
        using var writer = new StoreWriter(held, NullLogger<StoreWriter>.Instance, TimeSpan.FromHours(1), gatherShareOfLastInsert: 1e9);
        await writer.StartAsync(CancellationToken.None);
        try
        {
            // Two clients in a closed loop, each sending its next batch as soon as its previous one is answered.
            var first = writer.WriteAsync(Events(100), CancellationToken.None);
            await held.InsertStartedAsync(1).WaitAsync(Patience);
            var second = writer.WriteAsync(Events(100), CancellationToken.None);
            var firstAgain = first.ContinueWith(_ => writer.WriteAsync(Events(100), CancellationToken.None), TaskScheduler.Default).Unwrap();
            held.Release(1);
            await held.InsertStartedAsync(2).WaitAsync(Patience);
            held.Release(2);
            await Task.WhenAll(second, firstAgain).WaitAsync(Patience);

            held.Inserted.Should().Equal([100, 200], "the first client's next batch went in with the second client's, not in a third insert");
            (await StoredAsync()).Should().Be(300);
        }
        finally
        {
            held.ReleaseAll();
            await writer.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_retry_of_events_still_being_stored_waits_for_them_and_counts_once()
    {
        var events = Events(100);
        var first = _writer.WriteAsync(events, CancellationToken.None);
        await _held.InsertStartedAsync(1).WaitAsync(Patience);

        var backlog = Enumerable.Range(0, StoreWriter.MinEventsForSecondInsert / 100).Select(_ => _writer.WriteAsync(Events(100), CancellationToken.None)).ToList();
        var retry = _writer.WriteAsync(events, CancellationToken.None);
        _held.Release(1);
        await _held.InsertStartedAsync(2).WaitAsync(Patience);
        _held.Release(2);
        await Task.WhenAll([first, retry, .. backlog]).WaitAsync(Patience);

        _held.Inserted.Should().HaveCount(2, "the retry waited for the insert carrying its ids instead of running beside it");
        (await StoredAsync()).Should().Be(100 + StoreWriter.MinEventsForSecondInsert);
    }

    private async Task<long> StoredAsync() =>
        (await _issues.GetIssuesAsync(new IssueQuery(1) { Limit = 100 })).Items.Sum(issue => issue.EventCount);

    private static List<ErrorEvent> Events(int count) =>
        Enumerable.Range(0, count).Select(i => TestEvents.Create(1, "fp-" + (i % 7), TestEvents.BaseTime.AddSeconds(i))).ToList();
}
