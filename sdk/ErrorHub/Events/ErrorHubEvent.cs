namespace ErrorHub;

/// <summary>
/// One error or message as the SDK sends it. <see cref="ErrorHubOptions.BeforeSend"/> sees (and may
/// change) every event before it is queued; after that the SDK treats it as read-only.
/// </summary>
public sealed class ErrorHubEvent
{
    /// <summary>Unique id, also returned by the capture methods so an app can show it to its user.</summary>
    public Guid EventId { get; set; } = Internal.EventIds.NewId();

    /// <summary>When the event happened (UTC).</summary>
    public DateTimeOffset Timestamp { get; set; } = DateTimeOffset.UtcNow;

    /// <summary>How severe the event is.</summary>
    public ErrorHubLevel Level { get; set; } = ErrorHubLevel.Error;

    /// <summary>A message for events that carry no exception, or extra context for those that do.</summary>
    public string? Message { get; set; }

    /// <summary>Where the event came from, e.g. a logger category.</summary>
    public string? Logger { get; set; }

    /// <summary>Version of the app, e.g. "Shop@1.4.2".</summary>
    public string? Release { get; set; }

    /// <summary>Deployment environment, e.g. "production".</summary>
    public string? Environment { get; set; }

    /// <summary>The machine that reported the event.</summary>
    public string? ServerName { get; set; }

    private IList<ExceptionEntry>? _exceptions;
    private Internal.CapturedChain? _captured;

    /// <summary>
    /// The exception chain, outermost first; inner exceptions follow their parent. For a captured exception it is
    /// made when first read (names, files and lines are worked out then, usually by the background sender), from the
    /// frames as they were when the exception was captured.
    /// </summary>
    public IList<ExceptionEntry> Exceptions => _exceptions ?? MakeExceptions();

    /// <summary>The HTTP request being served, if any.</summary>
    public RequestInfo? Request { get; set; }

    /// <summary>The affected user, if known.</summary>
    public UserInfo? User { get; set; }

    /// <summary>Short key/value pairs to search and filter by.</summary>
    public IDictionary<string, string> Tags { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Values shown with the event that are not searched by (longer context than tags).</summary>
    public IDictionary<string, string> Extra { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>What happened before the event, oldest first (log entries of the request, the app's own steps).</summary>
    public IList<Breadcrumb> Breadcrumbs { get; } = new List<Breadcrumb>();

    /// <summary>Overrides server-side grouping: events with the same fingerprint become one issue.</summary>
    public IList<string>? Fingerprint { get; set; }

    /// <summary>Runtime name and version, e.g. ".NET" and "10.0.12".</summary>
    public NameAndVersion? Runtime { get; set; }

    /// <summary>Operating system name and version.</summary>
    public NameAndVersion? OperatingSystem { get; set; }

    /// <summary>The chain captured on the app's thread, to be turned into <see cref="Exceptions"/> when first read.</summary>
    internal void SetCapturedExceptions(Internal.CapturedChain captured)
    {
        _captured = captured;
        _exceptions = null;
    }

    /// <summary>
    /// The chain as captured, while nobody has read <see cref="Exceptions"/>: the writer then encodes it without making
    /// the entries. Null once they are made (a BeforeSend that looked at them may have changed them).
    /// </summary>
    internal Internal.CapturedChain? UnreadCapturedChain => Volatile.Read(ref _exceptions) is null ? Volatile.Read(ref _captured) : null;

    private IList<ExceptionEntry> MakeExceptions()
    {
        // Whichever thread reads first makes the list; a thread that loses the race takes the winner's.
        IList<ExceptionEntry> made = _captured?.ToEntries() ?? new List<ExceptionEntry>();
        var list = Interlocked.CompareExchange(ref _exceptions, made, null) ?? made;
        _captured = null;
        return list;
    }
}

/// <summary>How severe an event is.</summary>
public enum ErrorHubLevel
{
    /// <summary>Diagnostic detail.</summary>
    Debug,
    /// <summary>Something worth knowing.</summary>
    Info,
    /// <summary>Something that may become a problem.</summary>
    Warning,
    /// <summary>A failure (the default for exceptions).</summary>
    Error,
    /// <summary>A failure that ends the process.</summary>
    Fatal,
}

/// <summary>One exception of an event's chain.</summary>
public sealed class ExceptionEntry
{
    /// <summary>Full type name, e.g. "System.InvalidOperationException".</summary>
    public required string Type { get; set; }

    /// <summary>The exception's message.</summary>
    public string Value { get; set; } = "";

    /// <summary>The assembly that defines the exception type.</summary>
    public string? Module { get; set; }

    /// <summary>Stack frames in .NET order: the frame that threw comes first.</summary>
    public IList<StackFrameEntry> Frames { get; } = new List<StackFrameEntry>();
}

/// <summary>One stack frame.</summary>
public sealed class StackFrameEntry
{
    /// <summary>Method name, without compiler-generated decoration (async state machines, lambdas).</summary>
    public required string Function { get; set; }

    /// <summary>Full name of the declaring type.</summary>
    public string? Type { get; set; }

    /// <summary>Assembly name.</summary>
    public string? Module { get; set; }

    /// <summary>Source file, when the app ships symbols (PDBs).</summary>
    public string? File { get; set; }

    /// <summary>Line in <see cref="File"/>.</summary>
    public int? Line { get; set; }

    /// <summary>Column in <see cref="File"/>.</summary>
    public int? Column { get; set; }

    /// <summary>
    /// True for the app's own code, false for framework and library code (a NuGet package's code included, unless the
    /// options' InAppInclude names its namespace).
    /// </summary>
    public bool InApp { get; set; }

    /// <summary>
    /// The SDK found the frame's assembly among the app's NuGet packages and so did not mark it in-app, where its namespace
    /// alone would have. Sent as the frame's <c>package</c> field (docs/protocol.md) while <see cref="InApp"/> stays false.
    /// </summary>
    internal bool FromPackage { get; set; }

    /// <summary>
    /// True for a frame that only passed the failure on (a catch-all middleware, the place it was captured):
    /// shown, but not used to group events into issues, so where an exception is caught never changes its issue.
    /// </summary>
    public bool Wrapper { get; set; }
}

/// <summary>The HTTP request that was being served when the event happened.</summary>
public sealed class RequestInfo
{
    private string? _method;
    private string? _url;
    private string? _queryString;
    private IDictionary<string, string>? _headers;
    private IDictionary<string, string>? _form;

    // What the request thread copied, turned into the values above when any of them is first read or set: usually by
    // the background sender as it writes the event, else by a BeforeSend that looks.
    private Internal.RequestSnapshot? _snapshot;

    /// <summary>An empty request, to fill in.</summary>
    public RequestInfo()
    {
    }

    internal RequestInfo(Internal.RequestSnapshot snapshot) => _snapshot = snapshot;

    /// <summary>HTTP method.</summary>
    public string? Method
    {
        get => Filled()._method;
        set => Filled()._method = value;
    }

    /// <summary>Scheme, host, path base and path, without the query string.</summary>
    public string? Url
    {
        get => Filled()._url;
        set => Filled()._url = value;
    }

    /// <summary>The query string without the leading '?', with sensitive values filtered.</summary>
    public string? QueryString
    {
        get => Filled()._queryString;
        set => Filled()._queryString = value;
    }

    /// <summary>Request headers after scrubbing (see <see cref="ErrorHubOptions.ScrubbedHeaders"/>).</summary>
    public IDictionary<string, string> Headers => Filled()._headers ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Form fields the app had read, sensitive ones filtered; files by name and size only.</summary>
    public IDictionary<string, string> Form => Filled()._form ??= new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The copy nobody has read yet: the wire writer then writes from it without filling the values.</summary>
    internal Internal.RequestSnapshot? UnreadSnapshot => Volatile.Read(ref _snapshot);

    private RequestInfo Filled()
    {
        if (Volatile.Read(ref _snapshot) is { } snapshot)
        {
            lock (snapshot)
            {
                if (_snapshot is not null)
                {
                    // Whichever thread reads first fills the values; one that waited here finds them filled.
                    try
                    {
                        var (method, url, queryString, headers, form) = snapshot.Fill();
                        (_method, _url, _queryString, _headers, _form) = (method, url, queryString, headers, form);
                    }
                    catch (Exception)
                    {
                        // Never thrown into the app or the sender: the event goes without the request's values.
                    }
                    finally
                    {
                        Volatile.Write(ref _snapshot, null);
                    }
                }
            }
        }

        return this;
    }
}

/// <summary>The user affected by the event.</summary>
public sealed class UserInfo
{
    /// <summary>The user's id (the NameIdentifier or sub claim).</summary>
    public string? Id { get; set; }

    /// <summary>The user's name.</summary>
    public string? Username { get; set; }

    /// <summary>The user's email address.</summary>
    public string? Email { get; set; }

    /// <summary>The client's IP address (only with <see cref="ErrorHubOptions.CaptureClientIp"/>).</summary>
    public string? IpAddress { get; set; }
}

/// <summary>A name with a version, such as a runtime or an operating system.</summary>
public sealed record NameAndVersion(string? Name, string? Version);
