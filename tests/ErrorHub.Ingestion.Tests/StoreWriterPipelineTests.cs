using ErrorHub.Ingestion.Tests.Journal;
using ErrorHub.Ingestion.Writing;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// The group commit on a real ClickHouse, with each insert held at a gate: requests that arrive while an insert is at the
/// store are looked up during it, and a retry counts once whichever insert it lands in and whatever happened to the first try.
/// </summary>
[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class StoreWriterPipelineTests(ClickHouseServerFixture clickHouse) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private ServiceProvider _services = null!;
    private IIssueReader _issues = null!;
    private GatedStore _gate = null!;

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddErrorHubStore();
        services.Configure<StoreOptions>(options =>
        {
            options.Kind = StoreOptions.ClickHouseKind;
            options.ClickHouse.Url = clickHouse.Url.ToString();
            options.ClickHouse.Database = ClickHouseServerFixture.NewDatabaseName("pipeline");
        });
        _services = services.BuildServiceProvider();
        await _services.GetRequiredService<IStoreSchema>().EnsureSchemaAsync();
        _issues = _services.GetRequiredService<IIssueReader>();
        _gate = new GatedStore(_services.GetRequiredService<IEventWriter>());
    }

    public async Task DisposeAsync()
    {
        _gate.ReleaseAll();
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task A_request_that_arrives_while_an_insert_is_at_the_store_is_looked_up_before_that_insert_ends()
    {
        await using var writer = await StartAsync();
        var first = writer.WriteAsync(Events("first", 100), CancellationToken.None);
        await _gate.InsertStartedAsync(1).WaitAsync(Patience);

        var second = Events("second", 100);
        var secondWrite = writer.WriteAsync(second, CancellationToken.None);
        await _gate.PreparedAsync(second[0].EventId).WaitAsync(Patience);
        first.IsCompleted.Should().BeFalse("the first insert is still held: the second request was looked up while it ran");

        _gate.Release(1);
        await _gate.InsertStartedAsync(2).WaitAsync(Patience);
        _gate.Release(2);
        await Task.WhenAll(first, secondWrite).WaitAsync(Patience);

        (await CountedAsync()).Should().Be(200);
    }

    [Fact]
    public async Task A_retry_that_arrives_while_its_first_try_is_at_the_store_counts_once()
    {
        await using var writer = await StartAsync();
        var events = Events("retried", 100);
        var first = writer.WriteAsync(events, CancellationToken.None);
        await _gate.InsertStartedAsync(1).WaitAsync(Patience);

        // Another client's batch is looked up ahead; the retry cannot be (the store cannot show the first try yet).
        var other = Events("other", 100);
        var otherWrite = writer.WriteAsync(other, CancellationToken.None);
        await _gate.PreparedAsync(other[0].EventId).WaitAsync(Patience);
        var retry = writer.WriteAsync(events, CancellationToken.None);

        _gate.Release(1);
        await _gate.InsertStartedAsync(2).WaitAsync(Patience);
        _gate.Release(2);
        await Task.WhenAll(first, otherWrite, retry).WaitAsync(Patience);

        (await CountedAsync()).Should().Be(200, "the retry's events were stored by the first try and count once");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_retry_waiting_behind_a_failed_first_try_is_stored_once(bool firstTryReachedTheStore)
    {
        await using var writer = await StartAsync();
        var events = Events("failed", 100);
        _gate.Fail(1, afterStoring: firstTryReachedTheStore);
        var first = writer.WriteAsync(events, CancellationToken.None);
        await _gate.InsertStartedAsync(1).WaitAsync(Patience);

        var retry = writer.WriteAsync(events, CancellationToken.None);
        _gate.Release(1);
        await FluentActions.Awaiting(() => first.WaitAsync(Patience)).Should().ThrowAsync<StoreUnavailableException>();
        await _gate.InsertStartedAsync(2).WaitAsync(Patience);
        _gate.Release(2);
        await retry.WaitAsync(Patience);

        (await CountedAsync()).Should().Be(100, "the retry's answer promises its events, and they count once whether or not the failed try left them");
    }

    [Fact]
    public async Task A_request_looked_up_ahead_and_a_retry_of_it_that_joins_the_same_insert_count_once()
    {
        // A gather wait that cannot run out: the insert after the first waits until its client sent again.
        await using var writer = await StartAsync(TimeSpan.FromHours(1), gatherShareOfLastInsert: 1e9);
        var first = writer.WriteAsync(Events("first", 100), CancellationToken.None);
        await _gate.InsertStartedAsync(1).WaitAsync(Patience);

        var ahead = Events("ahead", 100);
        var aheadWrite = writer.WriteAsync(ahead, CancellationToken.None);
        await _gate.PreparedAsync(ahead[0].EventId).WaitAsync(Patience);

        // The first client, answered, resends the other one's batch (a relay retrying what it forwarded): both go in the second insert.
        var resent = first.ContinueWith(_ => writer.WriteAsync(ahead, CancellationToken.None), TaskScheduler.Default).Unwrap();
        _gate.Release(1);
        await _gate.InsertStartedAsync(2).WaitAsync(Patience);
        _gate.Release(2);
        await Task.WhenAll(first, aheadWrite, resent).WaitAsync(Patience);

        _gate.Inserted.Should().Equal([100, 200], "the resent batch joined the insert of the batch looked up ahead");
        (await CountedAsync()).Should().Be(200);
    }

    private async Task<OwnedWriter> StartAsync(TimeSpan? maxGatherWait = null, double gatherShareOfLastInsert = StoreWriter.GatherShareOfLastInsert)
    {
        var writer = new StoreWriter(_gate, NullLogger<StoreWriter>.Instance, maxGatherWait ?? StoreWriter.MaxGatherWait, gatherShareOfLastInsert);
        await writer.StartAsync(CancellationToken.None);
        return new OwnedWriter(writer, _gate);
    }

    /// <summary>What the dashboard counts: the issues' event counts, which a second copy of an event would raise.</summary>
    private async Task<long> CountedAsync() =>
        (await _issues.GetIssuesAsync(new IssueQuery(1) { Limit = 100 })).Items.Sum(issue => issue.EventCount);

    private static List<ErrorEvent> Events(string name, int count) =>
        Enumerable.Range(0, count).Select(i => TestEvents.Create(1, TestEvents.Fingerprint(name + (i % 3)), TestEvents.BaseTime.AddSeconds(i))).ToList();

    private sealed class OwnedWriter(StoreWriter writer, GatedStore gate) : IAsyncDisposable
    {
        public Task WriteAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken) => writer.WriteAsync(events, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            gate.ReleaseAll();

            // Bounded: after a failed test a gather wait may still wait for a client that never sends.
            using var patience = new CancellationTokenSource(Patience);
            await writer.StopAsync(patience.Token);
            writer.Dispose();
        }
    }
}
