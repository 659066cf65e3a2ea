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

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
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
                : $"ClickHouse refused the query: {text} Query: {ClickHouseException.Abbreviate(Statement.Value ?? "")}";
            throw new ClickHouseException(message, code, response.StatusCode);
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
