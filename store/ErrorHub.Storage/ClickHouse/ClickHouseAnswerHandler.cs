using System.Text;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Turns an answer that is not 2xx into a <see cref="ClickHouseException"/> before the driver reads
/// it. The driver's own exception keeps ClickHouse's text but neither the HTTP status nor the URL,
/// and those tell "ClickHouse refused this" from "something else answered" (a proxy, a wrong port).
/// </summary>
internal sealed class ClickHouseAnswerHandler : DelegatingHandler
{
    internal const int MaxErrorTextLength = 16 * 1024;

    /// <summary>
    /// The statement being sent, set by <see cref="ClickHouseClient"/> around each call into the
    /// driver: the request cannot tell it (an insert's statement is inside its compressed body).
    /// </summary>
    public static readonly AsyncLocal<string?> Statement = new();

    /// <summary>
    /// How long the requests sent in this async flow wait for ClickHouse to start answering, and then for each further
    /// piece of its answer; null: up to the client's RequestTimeout for either (<see cref="RequestTimeout"/>). The
    /// dashboard sets it around the requests of its users (<c>ErrorHub:Store:ClickHouse:PageTimeout</c>): a node that hangs
    /// (stopped, a stuck disk) accepts connections and answers nothing, and a page would wait for the whole RequestTimeout,
    /// which schema changes and retention need to be long. A node that hangs after its answer's headers went out (between
    /// a block and the answer's end) left the page waiting for the rest without any bound.
    /// </summary>
    public static readonly AsyncLocal<TimeSpan?> AnswerWithin = new();

    /// <summary>
    /// The client's RequestTimeout, set by <see cref="ClickHouseClient"/> around each call: where no <see cref="AnswerWithin"/>
    /// is set (ingest's writes, notifications, retention), how long a started answer may send nothing more. HttpClient's own
    /// timeout ends with the headers of an answer read as it streams, and a node hung after them was waited for without end.
    /// </summary>
    public static readonly AsyncLocal<TimeSpan?> RequestTimeout = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        BoundedAnswer.Stall? stall = null;
        if (AnswerWithin.Value is { } bound)
        {
            response = await SendWithinAsync(request, bound, cancellationToken);
            stall = new(bound, StalledAnswer(request, bound, "PageTimeout"));
        }
        else
        {
            response = await base.SendAsync(request, cancellationToken);
            if (RequestTimeout.Value is { } timeout && timeout != Timeout.InfiniteTimeSpan)
            {
                stall = new(timeout, StalledAnswer(request, timeout, "RequestTimeout"));
            }
        }

        BoundedAnswer.Size? size = null;
        if (response.IsSuccessStatusCode && Statement.Value is { } statement && statement.StartsWith("INSERT INTO", StringComparison.OrdinalIgnoreCase))
        {
            // An insert's answer is read whole (by the driver, and by the client so that one cut off is a failure): whatever
            // answered, it is not held past a bound. HttpClient held it all, up to 2 GB.
            var url = request.RequestUri?.GetLeftPart(UriPartial.Path);
            var status = response.StatusCode;
            size = new(ClickHouseClient.MaxInsertAnswerBytes, () => new ClickHouseException(
                $"ClickHouse at {url} answered more than {ClickHouseClient.MaxInsertAnswerBytes / 1024} KB to an insert, which it answers with a line at most; the rest was not read. Query: {ClickHouseException.Abbreviate(statement)}",
                errorCode: null,
                status));
        }

        if (stall is not null || size is not null)
        {
            // Whoever reads the body (the driver, a streamed read, HttpClient buffering it, the error text below) reads it
            // through the bounds, whatever token they pass.
            response.Content = await BoundedAnswer.WrapAsync(response.Content, stall, size, cancellationToken);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await ReadErrorTextAsync(response, cancellationToken);
            var code = ClickHouseException.ParseErrorCode(text);
            var message = code is null
                ? $"ClickHouse at {request.RequestUri?.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode} {response.ReasonPhrase}: {text} (is this ClickHouse's HTTP interface?)"
                : $"ClickHouse refused the query: {text}{SettingToCheck(code.Value)}. Query: {ClickHouseException.Abbreviate(Statement.Value ?? "")}";
            throw new ClickHouseException(message, code, response.StatusCode);
        }
    }

    /// <summary>
    /// For the refusals that come from ErrorHub's own configuration rather than from a statement (the first thing an operator
    /// meets after a typo), which setting to check, so the message says what to change and not only what the server thought.
    /// </summary>
    internal static string SettingToCheck(int code) => code switch
    {
        // UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, IP_ADDRESS_NOT_ALLOWED; current servers: AUTHENTICATION_FAILED.
        192 or 193 or 194 or 195 or 516 =>
            "; check ErrorHub:Store:ClickHouse:User and ErrorHub:Store:ClickHouse:Password: the user must exist on the server (users.xml, or CREATE USER on " +
            "current servers), with that password, and be allowed from this machine's address (its <networks>)",
        // "Requested cluster '...' not found": BAD_GET on 18.x, CLUSTER_DOESNT_EXIST on current servers.
        170 or 701 =>
            "; check ErrorHub:Store:ClickHouse:Cluster: it must name a cluster in the <remote_servers> section of every node's configuration " +
            "(SELECT DISTINCT cluster FROM system.clusters lists the names the node knows)",
        _ => "",
    };

    private async Task<HttpResponseMessage> SendWithinAsync(HttpRequestMessage request, TimeSpan bound, CancellationToken cancellationToken)
    {
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        giveUp.CancelAfter(bound);
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, giveUp.Token);
        }
        catch (OperationCanceledException ex) when (giveUp.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ClickHouseException(
                $"ClickHouse at {request.RequestUri?.GetLeftPart(UriPartial.Path)} did not start answering within {bound} (ErrorHub:Store:ClickHouse:PageTimeout); " +
                $"is the node hung? Query: {ClickHouseException.Abbreviate(Statement.Value ?? "")}",
                errorCode: null,
                statusCode: null,
                ex);
        }

        // The bound above ends with the headers: the caller bounds the body's reads (BoundedAnswer.Stall).
        return response;
    }

    private static Func<Exception> StalledAnswer(HttpRequestMessage request, TimeSpan bound, string setting)
    {
        var url = request.RequestUri?.GetLeftPart(UriPartial.Path);
        var statement = Statement.Value ?? "";
        return () => new ClickHouseException(
            $"ClickHouse at {url} stopped answering mid-way: nothing more came within {bound} (ErrorHub:Store:ClickHouse:{setting}); " +
            $"is the node hung? Query: {ClickHouseException.Abbreviate(statement)}",
            errorCode: null,
            statusCode: null);
    }

    private static async Task<string> ReadErrorTextAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new char[MaxErrorTextLength];
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var read = await reader.ReadBlockAsync(buffer, cancellationToken);
        return new string(buffer, 0, read).Trim();
    }
}


/// <summary>
/// An answer's body bounded for whoever reads it, whatever token they pass: by how long one read may wait for more
/// (<see cref="Stall"/>) and by how much of it may be read (<see cref="Size"/>).
/// </summary>
internal sealed class BoundedAnswer : ReadThroughStream
{
    private readonly Stall? _stall;
    private readonly Size? _size;
    // Not disposed with the stream, which may be let go while a read is under way: a disarmed one holds nothing.
    private CancellationTokenSource? _giveUp;
    private long _read;

    private BoundedAnswer(Stream inner, Stall? stall, Size? size)
        : base(inner)
    {
        _stall = stall;
        _size = size;
    }

    /// <summary>
    /// Every read fails once nothing came <paramref name="Within"/>: a node that hangs mid-answer keeps the connection open
    /// and sends nothing more, and a read without this waited for it as long as the reader's own token let it (a page's,
    /// until its visitor gave up).
    /// </summary>
    internal sealed record Stall(TimeSpan Within, Func<Exception> Stalled);

    /// <summary>A read fails once more than <paramref name="MaxBytes"/> of the answer were read.</summary>
    internal sealed record Size(long MaxBytes, Func<Exception> TooLong);

    public static async Task<HttpContent> WrapAsync(HttpContent content, Stall? stall, Size? size, CancellationToken cancellationToken)
    {
        var bounded = new StreamContent(new BoundedAnswer(await content.ReadAsStreamAsync(cancellationToken), stall, size));
        foreach (var (name, values) in content.Headers)
        {
            bounded.Headers.TryAddWithoutValidation(name, values);
        }

        return bounded;
    }

    // Nothing here reads synchronously; one that did would get the same bound rather than none.
    public override int Read(byte[] buffer, int offset, int count) =>
        _stall is null ? base.Read(buffer, offset, count) : ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_stall is null)
        {
            return await base.ReadAsync(buffer, cancellationToken);
        }

        // One source for the whole answer, its timer re-armed by each read and disarmed after it: a linked source and a timer
        // for every read cost a 1 MB answer 150 KB more garbage (docs/benchmarks.md, section 106).
        var giveUp = _giveUp ??= new CancellationTokenSource();
        giveUp.CancelAfter(_stall.Within);
        try
        {
            // The reader's own token still ends its read.
            using (cancellationToken.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), giveUp))
            {
                return Passed(await Inner.ReadAsync(buffer, giveUp.Token));
            }
        }
        catch (Exception ex) when (giveUp.IsCancellationRequested && !cancellationToken.IsCancellationRequested && ex is OperationCanceledException or IOException or HttpRequestException)
        {
            // The connection is closed by the cancelled read: the rest of this answer is not read, and ClickHouse ends a query whose client is gone.
            throw _stall.Stalled();
        }
        finally
        {
            // A source that fired (the bound, the reader's token, or the bound just as the read ended) cannot be re-armed.
            if (!giveUp.TryReset())
            {
                giveUp.Dispose();
                _giveUp = null;
            }
        }
    }

    protected override int Passed(int read)
    {
        _read += read;
        return _size is not null && _read > _size.MaxBytes ? throw _size.TooLong() : read;
    }
}
