using ErrorHub.Internal;
using ErrorHub.Serilog;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Serilog.Events;
using Serilog.Parsing;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Reporting;

/// <summary>
/// The walk that makes an event's tags from the app's scopes and from a logging library's event (ErrorHub.Serilog's sink)
/// reads no further than the tag cap: it runs on the app's logging thread, and a scope or a Serilog event of 100,000
/// values was read to its end after its first 20 had made the tags.
/// </summary>
public sealed class TagWalkTests
{
    private const int Hostile = 100_000;

    [Fact]
    public void A_serilog_event_of_a_hundred_thousand_properties_is_read_only_up_to_the_tag_cap()
    {
        var properties = Enumerable.Range(0, Hostile).Select(i => new LogEventProperty($"P{i}", new ScalarValue(i)));
        var logEvent = new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Error, null, new MessageTemplateParser().Parse("Order failed"), properties);
        var read = new CountingPairs(new ScopeProperties(logEvent));
        var errorEvent = new ErrorHubEvent();

        var previous = LogScopes.EnterLoggedProperties(read);
        try
        {
            new LogScopes().AddTagsTo(errorEvent);
        }
        finally
        {
            LogScopes.ExitLoggedProperties(previous);
        }

        errorEvent.Tags.Should().HaveCount(LogScopes.MaxTags);
        read.Read.Should().Be(LogScopes.MaxTags, "the walk stops once the tags are full");
    }

    [Fact]
    public void An_apps_scope_of_a_hundred_thousand_values_is_read_only_up_to_the_tag_cap_and_scopes_after_it_are_not_read()
    {
        var scopes = new LoggerExternalScopeProvider();
        var outer = new CountingPairs(Enumerable.Range(0, Hostile).Select(i => new KeyValuePair<string, object?>($"K{i}", i)));
        var inner = new CountingPairs([new("TenantId", "acme")]);
        using var first = scopes.Push(outer);
        using var second = scopes.Push(inner);
        var errorEvent = new ErrorHubEvent();

        new LogScopes { Provider = scopes }.AddTagsTo(errorEvent);

        errorEvent.Tags.Should().HaveCount(LogScopes.MaxTags);
        outer.Read.Should().Be(LogScopes.MaxTags);
        inner.Read.Should().Be(0, "the tags were full before it");
    }

    /// <summary>Key-value pairs made one at a time, as a lazy scope of the app's or a library's would be, counting how many were read.</summary>
    private sealed class CountingPairs(IEnumerable<KeyValuePair<string, object?>> pairs) : IEnumerable<KeyValuePair<string, object?>>
    {
        public int Read { get; private set; }

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            foreach (var pair in pairs)
            {
                Read++;
                yield return pair;
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
