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
    private readonly Dictionary<string, string> _tags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _extra = new(StringComparer.Ordinal);
    private readonly Queue<Breadcrumb> _breadcrumbs = new();
    private readonly int _maxBreadcrumbs;
    private UserInfo? _user;
    private IReadOnlyList<string>? _fingerprint;

    internal ErrorHubScope(ErrorHubScope? parent, int maxBreadcrumbs)
    {
        Parent = parent;
        _maxBreadcrumbs = Math.Max(0, maxBreadcrumbs);
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
    public void SetTag(string key, string value) => Set(_tags, key, value);

    /// <summary>Sets an extra value (shown with the event, not searchable). Bounded like tags.</summary>
    public void SetExtra(string key, string value) => Set(_extra, key, value);

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
            while (_breadcrumbs.Count >= _maxBreadcrumbs)
            {
                _breadcrumbs.Dequeue();
            }

            _breadcrumbs.Enqueue(breadcrumb);
        }
    }

    /// <summary>Copies this scope and its parents into the event; what the event already has wins.</summary>
    internal void ApplyTo(ErrorHubEvent errorEvent, int maxBreadcrumbs)
    {
        var chain = new List<ErrorHubScope>();
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            chain.Add(scope);
        }

        var breadcrumbs = new List<Breadcrumb>();
        foreach (var scope in chain) // innermost first: its values win
        {
            lock (scope._gate)
            {
                foreach (var (key, value) in scope._tags)
                {
                    errorEvent.Tags.TryAdd(key, value);
                }

                foreach (var (key, value) in scope._extra)
                {
                    errorEvent.Extra.TryAdd(key, value);
                }

                if (scope._user is { } user && errorEvent.User is null)
                {
                    errorEvent.User = Copy(user);
                }

                if (scope._fingerprint is { } fingerprint && errorEvent.Fingerprint is null)
                {
                    errorEvent.Fingerprint = fingerprint.ToList();
                }

                breadcrumbs.AddRange(scope._breadcrumbs);
            }
        }

        if (breadcrumbs.Count > 0)
        {
            // Stable: crumbs of the same instant keep the order they were added in.
            foreach (var crumb in breadcrumbs.OrderBy(b => b.Timestamp).TakeLast(maxBreadcrumbs))
            {
                errorEvent.Breadcrumbs.Add(crumb);
            }
        }
    }

    private void Set(Dictionary<string, string> target, string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var cut = Cut(value ?? "");
        lock (_gate)
        {
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
