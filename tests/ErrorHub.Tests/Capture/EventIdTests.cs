using System.Collections.Concurrent;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Tests.Capture;

public sealed class EventIdTests
{
    // Ingest drops an event whose id it has seen: an id made twice would lose a crash.
    [Fact]
    public void Events_made_on_many_threads_get_distinct_random_version_4_ids()
    {
        var ids = new ConcurrentBag<Guid>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                ids.Add(new ErrorHubEvent().EventId);
            }
        });

        ids.Should().HaveCount(40_000).And.OnlyHaveUniqueItems();
        ids.Should().OnlyContain(id => id.Version == 4 && (id.Variant & 0xC) == 0x8, "they are RFC 9562 random ids, as Guid.NewGuid makes");
        ids.Select(id => id.ToString("N")[..8]).Distinct().Should().HaveCountGreaterThan(39_000, "the ids are random, not a counter");
    }
}
