using System.Runtime.CompilerServices;

namespace ErrorHub;

/// <summary>
/// Context added to every event captured while the scope is current: tags, extra values, the user, a
/// fingerprint and breadcrumbs. Inside an HTTP request the current scope belongs to that request; a scope made
/// with <see cref="IErrorHubClient.PushScope"/> belongs to the async flow that made it; elsewhere there is one
/// scope for the process. Safe to use from several threads; every collection is bounded.
/// </summary>
public sealed class ErrorHubScope
{
    internal const int MaxEntries = 50;
    internal const int MaxValueLength = 200;

    private readonly object _gate = new(); // not Lock: the package also targets net8.0
    // Made on first use: a request gets a scope with its first breadcrumb, and most scopes never hold a tag.
    private Dictionary<string, string>? _tags;
    private Dictionary<string, string>? _extra;
    private Queue<Breadcrumb>? _breadcrumbs;
    private readonly int _maxBreadcrumbs;
    private UserInfo? _user;
    private IReadOnlyList<string>? _fingerprint;

    /// <summary>
    /// The most breadcrumbs a scope keeps and an event carries, whatever MaxBreadcrumbs says: ingest keeps the newest 100
    /// of an event, and more would hold memory for as long as the app runs (the process's scope) and could make the
    /// event larger than MaxBatchBytes, so that it is dropped.
    /// </summary>
    internal const int MostBreadcrumbs = 100;

    internal ErrorHubScope(ErrorHubScope? parent, int maxBreadcrumbs)
    {
        Parent = parent;
        _maxBreadcrumbs = Math.Clamp(maxBreadcrumbs, 0, MostBreadcrumbs);
    }

    internal ErrorHubScope? Parent { get; }

    /// <summary>The affected user for events of this scope; overrides what the request's claims say.</summary>
    public UserInfo? User
    {
        get { lock (_gate) { return _user; } }
        set { lock (_gate) { _user = value; } }
    }

    /// <summary>Overrides server-side grouping for events of this scope (see <see cref="ErrorHubEvent.Fingerprint"/>).</summary>
    public IReadOnlyList<string>? Fingerprint
    {
        get { lock (_gate) { return _fingerprint; } }
        set { lock (_gate) { _fingerprint = value?.ToArray(); } }
    }

    /// <summary>Sets a tag (short, searchable). Values are cut to 200 characters; at most 50 tags are kept.</summary>
    public void SetTag(string key, string value) => Set(ref _tags, key, value);

    /// <summary>Sets an extra value (shown with the event, not searchable). Bounded like tags.</summary>
    public void SetExtra(string key, string value) => Set(ref _extra, key, value);

    /// <summary>Adds a breadcrumb; the oldest is dropped beyond <see cref="ErrorHubOptions.MaxBreadcrumbs"/>.</summary>
    public void AddBreadcrumb(Breadcrumb breadcrumb)
    {
        ArgumentNullException.ThrowIfNull(breadcrumb);
        if (_maxBreadcrumbs == 0)
        {
            return;
        }

        lock (_gate)
        {
            var breadcrumbs = _breadcrumbs ??= new Queue<Breadcrumb>();
            while (breadcrumbs.Count >= _maxBreadcrumbs)
            {
                breadcrumbs.Dequeue();
            }

            breadcrumbs.Enqueue(breadcrumb);
        }
    }

    /// <summary>Copies this scope and its parents into the event; what the event already has wins.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void ApplyTo(ErrorHubEvent errorEvent, int maxBreadcrumbs)
    {
        List<Breadcrumb>? breadcrumbs = null;
        for (var scope = this; scope is not null; scope = scope.Parent) // innermost first: its values win
        {
            lock (scope._gate)
            {
                if (scope._tags is { } tags)
                {
                    foreach (var (key, value) in tags)
                    {
                        errorEvent.Tags.TryAdd(key, value);
                    }
                }

                if (scope._extra is { } extra)
                {
                    foreach (var (key, value) in extra)
                    {
                        errorEvent.Extra.TryAdd(key, value);
                    }
                }

                if (scope._user is { } user && errorEvent.User is null)
                {
                    errorEvent.User = Copy(user);
                }

                if (scope._fingerprint is { } fingerprint && errorEvent.Fingerprint is null)
                {
                    errorEvent.Fingerprint = fingerprint.ToList();
                }

                if (scope._breadcrumbs is { Count: > 0 } crumbs)
                {
                    (breadcrumbs ??= new List<Breadcrumb>(crumbs.Count)).AddRange(crumbs);
                }
            }
        }

        if (breadcrumbs is null)
        {
            return;
        }

        if (!InTimeOrder(breadcrumbs))
        {
            // Stable: crumbs of the same instant keep the order they were added in.
            breadcrumbs = breadcrumbs.OrderBy(b => b.Timestamp).ToList();
        }

        for (var i = Math.Max(0, breadcrumbs.Count - Math.Clamp(maxBreadcrumbs, 0, MostBreadcrumbs)); i < breadcrumbs.Count; i++)
        {
            errorEvent.Breadcrumbs.Add(breadcrumbs[i]);
        }
    }

    private static bool InTimeOrder(List<Breadcrumb> breadcrumbs)
    {
        for (var i = 1; i < breadcrumbs.Count; i++)
        {
            if (breadcrumbs[i].Timestamp < breadcrumbs[i - 1].Timestamp)
            {
                return false;
            }
        }

        return true;
    }

    private void Set(ref Dictionary<string, string>? field, string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var cut = Cut(value ?? "");
        lock (_gate)
        {
            var target = field ??= new Dictionary<string, string>(StringComparer.Ordinal);
            if (target.Count < MaxEntries || target.ContainsKey(key))
            {
                target[Cut(key)] = cut;
            }
        }
    }

    internal static string Cut(string value) => value.Length <= MaxValueLength ? value : value[..MaxValueLength];

    private static UserInfo Copy(UserInfo user) =>
        new() { Id = user.Id, Username = user.Username, Email = user.Email, IpAddress = user.IpAddress };
}
