using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Sqlite;
using FluentAssertions;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>
/// What an open page's events (clicks, navigation) read from ClickHouse waits at most PageTimeout for an answer, as a
/// page request does, and a change to a SQLite file waits at most PageWriteTimeout for its write lock: the circuit handler sets
/// the bounds for every inbound event, whatever flow the event arrives in.
/// (The browser test OpenPageStoreHangBrowserTests shows the outcome on a hung node: the store error within PageTimeout.)
/// </summary>
public sealed class PageTimeoutCircuitHandlerTests
{
    [Fact]
    public async Task Every_inbound_event_of_a_circuit_reads_the_store_within_the_page_timeout()
    {
        var options = new StoreOptions();
        options.ClickHouse.PageTimeout = TimeSpan.FromSeconds(3);
        options.Sqlite.PageWriteTimeout = TimeSpan.FromSeconds(4);
        var handler = new StoreOutagePages.PageTimeoutCircuitHandler(Options.Create(options));
        TimeSpan? bound = TimeSpan.MaxValue;
        TimeSpan? writeBound = TimeSpan.MaxValue;

        // An event arriving in a flow that no page request set the bounds in.
        ClickHouseAnswerHandler.AnswerWithin.Value = null;
        SqliteDatabase.WriteWithin.Value = null;
        var inbound = handler.CreateInboundActivityHandler(_ =>
        {
            bound = ClickHouseAnswerHandler.AnswerWithin.Value;
            writeBound = SqliteDatabase.WriteWithin.Value;
            return Task.CompletedTask;
        });
        await inbound(null!);

        bound.Should().Be(TimeSpan.FromSeconds(3), "the event's store reads give up after PageTimeout, not RequestTimeout");
        writeBound.Should().Be(TimeSpan.FromSeconds(4), "a click's change to a locked SQLite file gives up after PageWriteTimeout, not 30 s per queued write");
    }
}
