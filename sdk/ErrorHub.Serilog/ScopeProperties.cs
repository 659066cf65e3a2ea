using System.Collections;
using Serilog.Events;
using Serilog.Parsing;

namespace ErrorHub.Serilog;

/// <summary>
/// The scalar properties of one Serilog event that are not its message's own: what Serilog made of the app's
/// <c>BeginScope</c> values, <c>LogContext.PushProperty</c> and enrichers, which ErrorHub takes as tags (bounded where
/// the tags are made). Read only when the entry becomes an event, on the thread that logs it.
/// </summary>
internal sealed class ScopeProperties(LogEvent logEvent) : IEnumerable<KeyValuePair<string, object?>>
{
    /// <summary>
    /// The values of the scopes ASP.NET Core opens for every request (hosting's, the Activity's, MVC's action), which
    /// Serilog flattens into each event: as with Microsoft.Extensions.Logging's scopes, only the request id is news to an
    /// event (the URL, trace and span ids and the endpoint are there already; MVC's action id changes at each start).
    /// </summary>
    private static readonly HashSet<string> FrameworkKeys =
        new(["SourceContext", "EventId", "RequestPath", "ConnectionId", "SpanId", "TraceId", "ParentId", "ActionId", "ActionName"], StringComparer.Ordinal);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        foreach (var (name, value) in logEvent.Properties)
        {
            if (value is ScalarValue scalar && !FrameworkKeys.Contains(name) && !InMessage(name))
            {
                yield return new KeyValuePair<string, object?>(name, scalar.Value);
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// The names the message template binds, made once per event: checking each property against every token instead took
    /// the number of properties times the template's tokens, on the app's logging thread (a template naming 100,000
    /// properties, each given: ten billion comparisons).
    /// </summary>
    private HashSet<string>? _messageNames;

    private bool InMessage(string name) => (_messageNames ??= MessageNames()).Contains(name);

    private HashSet<string> MessageNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in logEvent.MessageTemplate.Tokens)
        {
            if (token is PropertyToken property)
            {
                names.Add(property.PropertyName);
            }
        }

        return names;
    }
}
