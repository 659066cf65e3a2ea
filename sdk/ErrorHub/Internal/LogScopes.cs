using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Internal;

/// <summary>
/// The app's logging scopes (<c>BeginScope</c>), handed over by the ErrorHub logger provider, so that events
/// captured on any path carry the scalar scope values as tags.
/// </summary>
internal sealed class LogScopes
{
    internal const int MaxTags = 20;

    /// <summary>
    /// The most key-value pairs one walk reads, tags or not: a scope of values that never become tags (objects, empty
    /// keys) would otherwise be read to its end on the app's thread, and one without end never returned.
    /// </summary>
    internal const int MaxPairsRead = 1_000;

    private const string RequestIdKey = "RequestId";

    // The walk's state for one event: reused on each thread (a capture allocates no closure, no delegate per event).
    [ThreadStatic]
    private static TagWalk? t_walk;

    // The properties of the log event being fed in right now by a logging library's sink (ErrorHub.Serilog): Serilog
    // turns BeginScope values and LogContext properties into properties of each event, and never calls a provider's
    // BeginScope. The sink runs on the logging thread, where the capture reads them.
    [ThreadStatic]
    private static IEnumerable<KeyValuePair<string, object?>>? t_loggedProperties;

    public IExternalScopeProvider? Provider { get; set; }

    /// <summary>Makes <paramref name="properties"/> the innermost scope of this thread's captures until <see cref="ExitLoggedProperties"/>.</summary>
    internal static IEnumerable<KeyValuePair<string, object?>>? EnterLoggedProperties(IEnumerable<KeyValuePair<string, object?>> properties)
    {
        var previous = t_loggedProperties;
        t_loggedProperties = properties;
        return previous;
    }

    internal static void ExitLoggedProperties(IEnumerable<KeyValuePair<string, object?>>? previous) => t_loggedProperties = previous;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddTagsTo(ErrorHubEvent errorEvent)
    {
        var provider = Provider;
        var logged = t_loggedProperties;
        if (provider is null && logged is null)
        {
            return;
        }

        // A walk already under way on this thread (an app's scope provider that captures while walking) gets its own.
        var walk = t_walk is { Target: null } idle ? idle : (t_walk = new TagWalk());
        walk.Target = errorEvent;
        walk.Added = 0;
        walk.Read = 0;
        try
        {
            provider?.ForEachScope(TagWalk.Visit, walk);
            if (logged is not null)
            {
                TagWalk.Visit(logged, walk); // innermost: the entry's own properties
            }
        }
        finally
        {
            walk.Target = null; // the event is not kept alive by the thread
        }
    }

    private static bool IsScalar(object? value) =>
        value is string or char or bool or Guid or Enum or DateTime or DateTimeOffset or TimeSpan
        || (value is not null && value.GetType().IsPrimitive) || value is decimal;

    private sealed class TagWalk
    {
        /// <summary>One delegate for every walk, made once.</summary>
        public static readonly Action<object?, TagWalk> Visit = VisitScope;

        public ErrorHubEvent? Target;
        public int Added;

        public int Read;

        public bool IsFull => Added >= MaxTags || Read >= MaxPairsRead;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void VisitScope(object? scope, TagWalk walk)
        {
            // A full walk stops reading: a scope (or a logged event, ErrorHub.Serilog's) of 100,000 values was read to its end
            // on the app's logging thread after its first 20 had made the tags.
            if (walk.IsFull)
            {
                return;
            }

            // A scope is the app's object: one that throws while it is read (a dictionary another thread changes, a list
            // whose indexer fails) keeps the tags it gave so far, and the failure it is reported with goes on without the
            // rest (the whole event was lost: "ErrorHub could not capture an event").
            try
            {
                ReadScope(scope, walk);
            }
            catch (Exception)
            {
                // Not the SDK's failure, and not logged: logging it here would run inside the app's logging call.
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void ReadScope(object? scope, TagWalk walk)
        {
            // ASP.NET Core's own scopes (the request's, the connection's, the Activity's) and LoggerMessage's are lists:
            // read by index, without an enumerator per scope.
            if (scope is IReadOnlyList<KeyValuePair<string, object?>> list)
            {
                var framework = IsFrameworkScope(scope);
                for (var i = 0; i < list.Count && !walk.IsFull; i++)
                {
                    var (key, value) = list[i];
                    if (!framework || key == RequestIdKey)
                    {
                        walk.Add(key, value);
                    }
                }
            }
            else if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    walk.Add(key, value);
                    if (walk.IsFull)
                    {
                        break;
                    }
                }
            }
        }

        // The scopes hosting, Kestrel, the logger factory and MVC open for every request in any app that logs. Of their
        // values only the request id is news to an event (it is what the app's own log lines carry): the path is the
        // URL's, the connection id is the request id's prefix, the trace, span and parent ids are the trace_id and
        // span_id tags already, and MVC's action name is the endpoint tag; MVC's action id is a GUID made anew at each
        // start, so the same action has another after every deploy. Kept, they would take eight of the 20 tags from the
        // app's own scopes. Matched by the type's name, which is the same on every supported ASP.NET Core, not its full
        // name, which moved between releases.
        private static bool IsFrameworkScope(object scope)
        {
            var type = scope.GetType();
            return type.Name is "HostingLogScope" or "ConnectionLogScope" or "ActivityLogScope" or "ActionLogScope"
                && type.Namespace is { } space && space.StartsWith("Microsoft.", StringComparison.Ordinal);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Add(string key, object? value)
        {
            Read++;
            if (Added >= MaxTags || Target is not { } target || string.IsNullOrEmpty(key) || key == "{OriginalFormat}" || !IsScalar(value))
            {
                return;
            }

            // Inner scopes come last and win.
            target.Tags[ErrorHubScope.Cut(key)] = ErrorHubScope.Cut(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
            Added++;
        }
    }
}
