using System.Collections;
using ErrorHub.Internal;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Capture;

/// <summary>
/// The app's logging scopes (<c>BeginScope</c>) are the app's objects, read on the app's thread when a failure is logged
/// inside them: one that throws while it is read, or never ends, costs at most its own tags. The failure arrives at a real
/// server with the tags of the other scopes, the app's log call returns, and the app's log gets no line of the SDK's.
/// </summary>
public sealed class HostileLogScopeTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private readonly CapturingLoggerProvider _logs = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    public static TheoryData<string> ScopesThatThrow => ["changed while read", "indexer throws", "count throws", "no enumerator"];

    [Theory]
    [MemberData(nameof(ScopesThatThrow))]
    public async Task A_scope_that_throws_while_it_is_read_costs_only_its_own_tags_and_the_failure_arrives(string hostile)
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs, LogLevel.Debug);
        var logger = sdk.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Shop.Checkout");

        using (logger.BeginScope(new Dictionary<string, object?> { ["tenant"] = "acme" }))
        using (logger.BeginScope(HostileScope(hostile)))
        using (logger.BeginScope(new Dictionary<string, object?> { ["order"] = 42 }))
        {
            var log = () => logger.LogError(Thrown(new InvalidOperationException("checkout failed")), "Checkout failed");
            log.Should().NotThrow();
        }

        var sent = await SentEventAsync(sdk);
        sent["exceptions"].AsList().Single().AsMap()["value"].Should().Be("checkout failed");
        var tags = sent["tags"].AsMap();
        tags["tenant"].Should().Be("acme");
        tags["order"].Should().Be("42", "the scopes inside the hostile one are still read");
        tags.Keys.Contains("first").Should().Be(hostile == "changed while read", "what the hostile scope gave before it threw is kept");
    }

    [Fact]
    public async Task A_scope_without_end_of_values_that_are_no_tags_is_read_to_a_bound_and_the_log_call_returns()
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs, LogLevel.Debug);
        var logger = sdk.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Shop.Checkout");
        var endless = new CountingObjects(limit: 10_000_000); // ends only so that a failing test ends

        using (logger.BeginScope(new Dictionary<string, object?> { ["tenant"] = "acme" }))
        using (logger.BeginScope(endless))
        {
            logger.LogError(Thrown(new InvalidOperationException("checkout failed")), "Checkout failed");
        }

        endless.Read.Should().BeLessThanOrEqualTo(LogScopes.MaxPairsRead, "the walk runs on the app's thread and stops at its bound");
        var sent = await SentEventAsync(sdk);
        sent["tags"].AsMap()["tenant"].Should().Be("acme");
    }

    private async Task<WireMap> SentEventAsync(SdkUnderTest sdk)
    {
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(30)).Within()).Should().BeTrue();
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning && e.Category.StartsWith("ErrorHub", StringComparison.Ordinal))
            .Should().BeEmpty("a hostile scope is the app's, not a failure of the SDK");
        return _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => e.AsMap()).Should().ContainSingle().Subject;
    }

    private static object HostileScope(string hostile) => hostile switch
    {
        "changed while read" => new ChangedWhileRead(),
        "indexer throws" => new BrokenList(countThrows: false),
        "count throws" => new BrokenList(countThrows: true),
        "no enumerator" => new NoEnumerator(),
        _ => throw new ArgumentOutOfRangeException(nameof(hostile)),
    };

    /// <summary>A dictionary another thread adds to while the walk reads it: the enumerator throws at its next step.</summary>
    private sealed class ChangedWhileRead : IEnumerable<KeyValuePair<string, object?>>
    {
        private readonly Dictionary<string, object?> _values = new() { ["first"] = "one", ["second"] = "two" };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            foreach (var pair in _values)
            {
                yield return pair;
                _values[$"added {_values.Count}"] = "by another thread";
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class BrokenList(bool countThrows) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => countThrows ? throw new InvalidOperationException("count") : 3;

        public KeyValuePair<string, object?> this[int index] => throw new IndexOutOfRangeException("the app's list is broken");

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => throw new InvalidOperationException("enumerator");

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class NoEnumerator : IEnumerable<KeyValuePair<string, object?>>
    {
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => null!;

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Pairs whose values are objects, never scalars, so none of them becomes a tag.</summary>
    private sealed class CountingObjects(int limit) : IEnumerable<KeyValuePair<string, object?>>
    {
        public int Read { get; private set; }

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            var value = new object();
            while (Read < limit)
            {
                Read++;
                yield return new("cart", value);
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
