using System.Security.Claims;
using System.Text;
using ErrorHub.Dashboard.Access;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// An issue's affected users as CSV (RFC 4180, UTF-8), for a mail merge or a spreadsheet: every user, from one query
/// of the store whose rows are written as they arrive (a client that goes away cancels it). Needs a sign-in like every page;
/// a project the caller may not read answers 404.
/// </summary>
internal static class AffectedUsersCsv
{
    public static void MapAffectedUsersCsv(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/projects/{projectId:int}/issues/{fingerprint}/users.csv", async (
            int projectId, string fingerprint, string? q, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, HttpContext context) =>
        {
            var cancellationToken = context.RequestAborted;
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null
                || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is null)
            {
                return Results.NotFound();
            }

            return Results.Stream(
                async body =>
                {
                    var search = string.IsNullOrWhiteSpace(q) ? null : q.Trim();
                    await using var users = issues.ReadAllAffectedUsersAsync(projectId, fingerprint, search, cancellationToken).GetAsyncEnumerator(cancellationToken);
                    // The first row is awaited before a byte is written: a store that cannot answer still gets its 503 page
                    // (StoreOutagePages), not a download cut short.
                    var any = await users.MoveNextAsync();
                    await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
                    await writer.WriteAsync("email,name,id,ip_address,events,first_seen,last_seen,latest_url\r\n");
                    for (; any; any = await users.MoveNextAsync())
                    {
                        // The writer hands its buffer to the response every few KB, and the response waits for a client that
                        // reads slowly: memory stays bounded however many users there are.
                        await writer.WriteAsync(Row(users.Current));
                    }
                },
                contentType: "text/csv; charset=utf-8",
                fileDownloadName: $"issue-{SafeFileName(fingerprint)}-users.csv");
        });

    internal static string Row(AffectedUser user) => string.Join(
        ',',
        Field(user.Email),
        Field(user.Username),
        Field(user.Id),
        Field(user.IpAddress),
        user.EventCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        user.FirstSeen.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        user.LastSeen.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        Field(user.LatestUrl)) + "\r\n";

    /// <summary>
    /// One quoted field. A value that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a
    /// leading apostrophe: user names and URLs come from the crashing app's users, not from us.
    /// </summary>
    internal static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    private static string SafeFileName(string fingerprint)
    {
        var safe = new string([.. fingerprint.Where(char.IsAsciiLetterOrDigit).Take(32)]);
        return safe.Length == 0 ? "unnamed" : safe;
    }
}
