namespace ErrorHub.Logging;

/// <summary>
/// Rebus logs each failed delivery of a message as a Warning with the exception ("Unhandled exception 3 while handling
/// message with ID "..."") and, when it gives the message up, moves it to its error queue with an Error that carries the
/// exceptions only as text ("Moving message with ID "..." to error queue "error" - error details: ..."). The last
/// delivery's exception of each message is kept here until that Error says the message was given up, and is reported
/// then: one event per message given up, with the handler's stack. Bounded: the oldest messages are forgotten first.
/// </summary>
internal sealed class RebusDeliveries(int capacity)
{
    internal const int DefaultCapacity = 256;

    private const string WithId = "with ID ";

    private readonly object _gate = new(); // not Lock: the package also targets net8.0
    private readonly Dictionary<string, Exception> _lastFailure = new(StringComparer.Ordinal);
    private readonly Queue<string> _oldestFirst = new();

    /// <summary>A failed delivery's entry: its exception is the message's last failure so far.</summary>
    public void FailedDelivery(string text, Exception exception)
    {
        if (!text.Contains("while handling message", StringComparison.Ordinal) || MessageIdOf(text) is not { } messageId)
        {
            return;
        }

        lock (_gate)
        {
            if (_lastFailure.TryAdd(messageId, exception))
            {
                _oldestFirst.Enqueue(messageId);
                if (_oldestFirst.Count > capacity)
                {
                    _lastFailure.Remove(_oldestFirst.Dequeue());
                }
            }
            else
            {
                _lastFailure[messageId] = exception;
            }
        }
    }

    /// <summary>The last failure of the message an entry says was moved to the error queue; null for any other entry.</summary>
    public Exception? GivenUp(string text)
    {
        if (!text.Contains("to error queue", StringComparison.Ordinal) || !text.StartsWith("Moving message", StringComparison.Ordinal)
            || MessageIdOf(text) is not { } messageId)
        {
            return null;
        }

        lock (_gate)
        {
            return _lastFailure.GetValueOrDefault(messageId);
        }
    }

    /// <summary>The entry without Rebus's error details (every delivery's exception as text): the event shows the last one.</summary>
    public static string WithoutErrorDetails(string text)
    {
        var details = text.IndexOf(" - error details", StringComparison.Ordinal);
        return details > 0 ? text[..details] : text;
    }

    /// <summary>The id after "with ID ", quoted as Rebus renders it or not; at most 200 characters.</summary>
    private static string? MessageIdOf(string text)
    {
        var at = text.IndexOf(WithId, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var rest = text.AsSpan(at + WithId.Length).TrimStart('"');
        var end = rest.IndexOfAny('"', ' ');
        var id = end < 0 ? rest : rest[..end];
        return id.IsEmpty || id.Length > 200 ? null : id.ToString();
    }
}
