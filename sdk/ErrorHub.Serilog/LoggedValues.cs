using System.Collections;
using System.Globalization;
using Serilog.Events;
using Serilog.Parsing;

namespace ErrorHub.Serilog;

/// <summary>
/// One Serilog event as the state Microsoft.Extensions.Logging hands a provider for a structured entry (what
/// <c>LogWarning("{error}: {message}", ...)</c> and <c>LoggerMessage</c> give it): the message's properties by name, then
/// <c>{OriginalFormat}</c>, the template. The provider reads an entry's values one way, whichever logging library wrote
/// it: through Serilog's bridge an entry's values become the event's properties, and a provider handed the
/// <see cref="LogEvent"/> itself would find none of them (YARP's forwarder says at which stage it failed in <c>error</c>).
/// Read only when the provider asks, on the thread that logs.
/// </summary>
internal sealed class LoggedValues(LogEvent logEvent) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private const string OriginalFormat = "{OriginalFormat}";

    private KeyValuePair<string, object?>[]? _values;

    public int Count => Values.Length;

    public KeyValuePair<string, object?> this[int index] => Values[index];

    private KeyValuePair<string, object?>[] Values => _values ??= Read(logEvent);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)Values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The message, as Microsoft.Extensions.Logging's state gives it.</summary>
    public override string ToString() => logEvent.RenderMessage(CultureInfo.InvariantCulture);

    private static KeyValuePair<string, object?>[] Read(LogEvent logEvent)
    {
        var values = new List<KeyValuePair<string, object?>>();
        foreach (var token in logEvent.MessageTemplate.Tokens)
        {
            if (token is PropertyToken { PropertyName: var name }
                && logEvent.Properties.TryGetValue(name, out var value)
                && !values.Exists(known => string.Equals(known.Key, name, StringComparison.Ordinal)))
            {
                // A scalar as the app logged it (an enum stays an enum); a structure or sequence as Serilog captured it.
                values.Add(new KeyValuePair<string, object?>(name, value is ScalarValue scalar ? scalar.Value : value));
            }
        }

        values.Add(new KeyValuePair<string, object?>(OriginalFormat, logEvent.MessageTemplate.Text));
        return [.. values];
    }
}
