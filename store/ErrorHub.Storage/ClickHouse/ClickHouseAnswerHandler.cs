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
    /// How long the requests sent in this async flow wait for ClickHouse to start answering; null: up to the client's
    /// RequestTimeout. The dashboard sets it around the requests of its users (<c>ErrorHub:Store:ClickHouse:PageTimeout</c>):
    /// a node that hangs (stopped, a stuck disk) accepts connections and answers nothing, and a page would wait for the
    /// whole RequestTimeout, which schema changes and retention need to be long.
    /// </summary>
    public static readonly AsyncLocal<TimeSpan?> AnswerWithin = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = AnswerWithin.Value is { } bound
            ? await SendWithinAsync(request, bound, cancellationToken)
            : await base.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            if (Statement.Value is { } statement && statement.StartsWith("INSERT INTO", StringComparison.OrdinalIgnoreCase))
            {
                // An insert's answer is read whole (by the driver, and by the client so that one cut off is a failure): whatever
                // answered, it is not held past a bound. HttpClient held it all, up to 2 GB.
                var url = request.RequestUri?.GetLeftPart(UriPartial.Path);
                response.Content = await BoundedAnswer.WrapAsync(response.Content, ClickHouseClient.MaxInsertAnswerBytes, () => new ClickHouseException(
                    $"ClickHouse at {url} answered more than {ClickHouseClient.MaxInsertAnswerBytes / 1024} KB to an insert, which it answers with a line at most; the rest was not read. Query: {ClickHouseException.Abbreviate(statement)}",
                    errorCode: null,
                    response.StatusCode), cancellationToken);
            }

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
        try
        {
            return await base.SendAsync(request, giveUp.Token);
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

/// <summary>An answer's body that throws once more than a bound of it is read, whoever reads it.</summary>
internal sealed class BoundedAnswer : Stream
{
    private readonly Stream _inner;
    private readonly long _maxBytes;
    private readonly Func<Exception> _tooLong;
    private long _read;

    private BoundedAnswer(Stream inner, long maxBytes, Func<Exception> tooLong)
    {
        _inner = inner;
        _maxBytes = maxBytes;
        _tooLong = tooLong;
    }

    public static async Task<HttpContent> WrapAsync(HttpContent content, long maxBytes, Func<Exception> tooLong, CancellationToken cancellationToken)
    {
        var bounded = new StreamContent(new BoundedAnswer(await content.ReadAsStreamAsync(cancellationToken), maxBytes, tooLong));
        foreach (var (name, values) in content.Headers)
        {
            bounded.Headers.TryAddWithoutValidation(name, values);
        }

        return bounded;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Counted(_inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Counted(await _inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Counted(int read)
    {
        _read += read;
        return _read > _maxBytes ? throw _tooLong() : read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
