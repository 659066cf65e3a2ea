using System.Diagnostics;

namespace ErrorHub.Internal;

/// <summary>
/// Recognises one failure logged again. Messaging libraries retry a failing message and log every attempt at Error with
/// the exception (Wolverine's "Failed to process message {Name}#{envelope}", its inline retries of <c>InvokeAsync</c>):
/// a message that fails four times is one failure, reported once, as Sentry's integrations report it.
/// </summary>
internal static class RepeatedFailures
{
    /// <summary>
    /// Whether <paramref name="later"/> is <paramref name="earlier"/> again: the same type and message, thrown at the same
    /// place (method and IL offset), as a retry of the same code with the same input throws it. Where the runtime names no
    /// method for the frame (NativeAOT without its metadata), nothing is the same: a distinct failure is never dropped.
    /// </summary>
    public static bool AreSame(Exception earlier, Exception later)
    {
        if (ReferenceEquals(earlier, later))
        {
            return true;
        }

        if (earlier.GetType() != later.GetType() || !string.Equals(earlier.Message, later.Message, StringComparison.Ordinal))
        {
            return false;
        }

        var (earlierMethod, earlierOffset) = ThrowSite(earlier);
        var (laterMethod, laterOffset) = ThrowSite(later);
        return earlierMethod is not null && Equals(earlierMethod, laterMethod) && earlierOffset == laterOffset;
    }

    private static (System.Reflection.MethodBase? Method, int Offset) ThrowSite(Exception exception)
    {
        var frame = new StackTrace(exception, fNeedFileInfo: false).GetFrame(0);
        return (ExceptionConverter.MethodOf(frame), frame?.GetILOffset() ?? -1);
    }

    /// <summary>
    /// The id of the message whose handling failed, when the log entry's values name one: Wolverine's <c>envelope</c> (the
    /// envelope's id, or the envelope, "Envelope #id"), <c>MessageId</c> or <c>EnvelopeId</c> of other libraries.
    /// </summary>
    public static Guid? MessageIdOf<TState>(TState state)
    {
        if (state is not IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            return null;
        }

        // A formatter's values are few (the template's holes and the template itself); a hostile list is not walked far.
        var count = Math.Min(values.Count, 32);
        for (var i = 0; i < count; i++)
        {
            var (key, value) = values[i];
            if (value is null
                || !(key.Equals("envelope", StringComparison.OrdinalIgnoreCase) || key.Equals("MessageId", StringComparison.OrdinalIgnoreCase)
                     || key.Equals("EnvelopeId", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            if (value is Guid id)
            {
                return id == Guid.Empty ? null : id;
            }

            if (ParseId(TextOf(value)) is { } parsed)
            {
                return parsed;
            }
        }

        return null;
    }

    /// <summary>
    /// The message object an entry names under <c>Message</c>, when it is one (not text, not a number): Wolverine logs each
    /// inline attempt of <c>InvokeAsync</c> as "Invocation of {Message} failed!" with the invoked message itself, the
    /// same instance at every attempt, and no id. Text and values are never keys: equal text is no proof of one message.
    /// Only that entry counts (by its template): an app's own "{Message}" entry naming one long-lived object (a job, a
    /// settings object) failing again and again is a failure each time, as its issue's counts and spike alerts expect.
    /// </summary>
    public static object? MessageObjectOf<TState>(TState state)
    {
        if (state is not IReadOnlyList<KeyValuePair<string, object?>> values || values.Count is 0 or > 32
            || values[^1] is not { Key: "{OriginalFormat}", Value: WolverineInvocationFailed })
        {
            return null;
        }

        for (var i = 0; i < values.Count; i++)
        {
            var (key, value) = values[i];
            if (value is not null and not string && !value.GetType().IsValueType && key.Equals("Message", StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>The template of Wolverine's entry for each failed inline attempt of <c>InvokeAsync</c>.</summary>
    private const string WolverineInvocationFailed = "Invocation of {Message} failed!";

    /// <summary>An app's type whose ToString throws keys nothing: its failure is still reported.</summary>
    private static string? TextOf(object value)
    {
        try
        {
            return value.ToString();
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>A GUID alone, or after the first '#' ("Envelope #5f0c.../CorrelationId=...").</summary>
    private static Guid? ParseId(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var span = text.AsSpan();
        var hash = span.IndexOf('#');
        if (hash >= 0)
        {
            span = span[(hash + 1)..];
        }

        const int length = 36; // the "D" format
        if (span.Length > length)
        {
            span = span[..length];
        }

        return Guid.TryParseExact(span, "D", out var id) && id != Guid.Empty ? id : null;
    }
}

/// <summary>
/// The messages (by id and exception type) whose failure was reported lately, so that their retries, failing alike, are
/// not reported again. Bounded: the oldest are forgotten first, and a message retried after thousands of other failing
/// messages is reported again, never lost.
/// </summary>
internal sealed class ReportedMessageFailures(int capacity)
{
    internal const int DefaultCapacity = 1024;

    private readonly object _gate = new(); // not Lock: the package also targets net8.0
    private readonly HashSet<(Guid MessageId, Type ExceptionType)> _reported = [];
    private readonly Queue<(Guid MessageId, Type ExceptionType)> _oldestFirst = new();

    /// <summary>True the first time this message fails with this type of exception; false for its retries that fail alike.</summary>
    public bool TryAdd(Guid messageId, Exception exception)
    {
        var key = (messageId, exception.GetType());
        lock (_gate)
        {
            if (!_reported.Add(key))
            {
                return false;
            }

            _oldestFirst.Enqueue(key);
            if (_oldestFirst.Count > capacity)
            {
                _reported.Remove(_oldestFirst.Dequeue());
            }

            return true;
        }
    }
}

/// <summary>
/// The message objects (by reference, not by equality: two invocations of equal commands are two failures) whose failure
/// was reported, with the types of exception they failed with, so that the inline retries of one invocation, logged
/// without an id, are not reported again. Held weakly: an entry lives as long as its message, and the app's messages are
/// never kept alive by it.
/// </summary>
internal sealed class ReportedInvocationFailures
{
    /// <summary>A message failing with more types of exception than this has each further one reported: never lost.</summary>
    private const int TypesPerMessage = 8;

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, List<Type>> _reported = new();

    /// <summary>True the first time this message object fails with this type of exception; false for its retries that fail alike.</summary>
    public bool TryAdd(object message, Exception exception)
    {
        var types = _reported.GetValue(message, static _ => new List<Type>(1));
        var type = exception.GetType();
        lock (types)
        {
            if (types.Contains(type))
            {
                return false;
            }

            if (types.Count < TypesPerMessage)
            {
                types.Add(type);
            }

            return true;
        }
    }
}
