using System.Buffers;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.ClickHouse;

/// <summary>
/// The bounds of an insert's encoded exception chains (<see cref="ClickHouseChainCache"/>), and that its key knows every field
/// the encoded bytes hold; what its rows store is tested against a real server in <see cref="ClickHouseEventBatchTests"/>.
/// </summary>
public sealed class ClickHouseChainCacheTests
{
    [Fact]
    public void Past_its_bound_the_cache_keeps_no_more_chains_and_every_row_is_still_the_row_encoded_without_it()
    {
        var complete = TestEvents.CreateComplete(7, "fp", TestEvents.BaseTime);
        var events = Enumerable.Range(0, ClickHouseChainCache.MaxChains + 50)
            .Select(i => complete with
            {
                EventId = Guid.NewGuid(),
                Exceptions = [new ExceptionRecord("System.InvalidOperationException", "failure " + (i % (ClickHouseChainCache.MaxChains + 25)), null,
                    [new FrameRecord("Run", "Shop.Job", "Shop", "/src/Job.cs", 3, 1, InApp: true)])],
            })
            .ToList();

        var cache = new ClickHouseChainCache();
        foreach (var e in events)
        {
            Encode(e, cache).Should().Equal(Encode(e, chains: null));
        }

        cache.Count.Should().Be(ClickHouseChainCache.MaxChains);
    }

    [Fact]
    public void The_key_compares_every_field_an_exception_and_a_frame_have()
    {
        // The cache compares an exception's fields one by one (its record equality would compare the frames' list by
        // reference) and a frame by its record equality: a field added to either must be added to the comparison.
        typeof(ExceptionRecord).GetProperties().Select(p => p.Name).Should().BeEquivalentTo("Type", "Value", "Module", "Frames");
        typeof(FrameRecord).GetProperties().Select(p => p.Name).Should().BeEquivalentTo("Function", "Type", "Module", "File", "Line", "Column", "InApp", "Package");
    }

    private static byte[] Encode(ErrorEvent e, ClickHouseChainCache? chains)
    {
        var row = new ArrayBufferWriter<byte>();
        ClickHouseEventEncoding.Write(row, e, chains);
        return row.WrittenSpan.ToArray();
    }
}
