using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using FluentAssertions;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>
/// What an open page's events (clicks, navigation) read from ClickHouse waits at most PageTimeout for an answer, as a
/// page request does: the circuit handler sets the bound for every inbound event, whatever flow the event arrives in.
/// (The browser test OpenPageStoreHangBrowserTests shows the outcome on a hung node: the store error within PageTimeout.)
/// </summary>
public sealed class PageTimeoutCircuitHandlerTests
{
    [Fact]
    public async Task Every_inbound_event_of_a_circuit_reads_the_store_within_the_page_timeout()
    {
        var options = new StoreOptions();
        options.ClickHouse.PageTimeout = TimeSpan.FromSeconds(3);
        var handler = new StoreOutagePages.PageTimeoutCircuitHandler(Options.Create(options));
        TimeSpan? bound = TimeSpan.MaxValue;

        // An event arriving in a flow that no page request set the bound in.
        ClickHouseAnswerHandler.AnswerWithin.Value = null;
        var inbound = handler.CreateInboundActivityHandler(_ =>
        {
            bound = ClickHouseAnswerHandler.AnswerWithin.Value;
            return Task.CompletedTask;
        });
        await inbound(null!);

        bound.Should().Be(TimeSpan.FromSeconds(3), "the event's store reads give up after PageTimeout, not RequestTimeout");
    }
}
