using System.Net;
using System.Text.RegularExpressions;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// A request ClickHouse refused or could not answer. The message carries the server's own text
/// (<c>Code: N, e.displayText() = ...</c>) or says why the server could not be reached.
/// </summary>
public sealed partial class ClickHouseException : Exception
{
    public ClickHouseException()
    {
    }

    public ClickHouseException(string message)
        : base(message)
    {
    }

    public ClickHouseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal ClickHouseException(string message, int? errorCode, HttpStatusCode? statusCode, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
        StatusCode = statusCode;
    }

    /// <summary>ClickHouse's error code (e.g. 62 for a syntax error), when the server answered with one.</summary>
    public int? ErrorCode { get; }

    /// <summary>The HTTP status of the answer; null when no answer came.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>
    /// The node answered but has no ZooKeeper session, which cluster DDL needs: an outage to wait out (ZooKeeper starting, or
    /// out of reach), like a server not reachable yet, not a refusal of the statement.
    /// </summary>
    internal bool NoZooKeeperSession { get; init; }

    /// <summary>The node has no ZooKeeper configured at all, which cluster mode needs: no wait mends it, its configuration must.</summary>
    internal bool NoZooKeeperConfigured { get; init; }

    internal static int? ParseErrorCode(string serverText)
    {
        var match = CodePrefix().Match(serverText);
        return match.Success && int.TryParse(match.Groups[1].ValueSpan, out var code) ? code : null;
    }

    /// <summary>The start of a long statement or answer, for messages that stay readable.</summary>
    internal static string Abbreviate(string text) => text.Length <= 500 ? text : string.Concat(text.AsSpan(0, 500), "...");

    // Multiline: an error in the middle of an answer follows other lines (docs/storage.md).
    [GeneratedRegex(@"^\s*Code:\s*(\d+)", RegexOptions.CultureInvariant | RegexOptions.Multiline)]
    private static partial Regex CodePrefix();
}
