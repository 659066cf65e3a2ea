using System.Collections.Concurrent;
using System.Net;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.Dashboard;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>
/// The dashboard's pages (not the JSON API, which has <c>ApiHostileParametersTests</c>) over real HTTP with hostile
/// addresses, escaped as a hand-made link would be and not re-escaped: invalid UTF-8, NUL, CR/LF, overlong encodings and
/// lone surrogates in every query parameter a page reads, numbers past any integer, repeated parameters, encoded slashes
/// and dot segments in the path. Each answers a readable page or a redirect or 4xx, never a 5xx, and the dashboard keeps
/// serving with nothing logged as an error.
/// </summary>
public sealed class PageHostileAddressTests
{
    private static readonly string Checkout = Fingerprint("checkout");

    /// <summary>Each page and the query parameters it reads (SupplyParameterFromQuery), with one it does not.</summary>
    private static readonly (string Page, string[] Names)[] Pages =
    [
        ("projects/1/issues", ["q", "environment", "release", "level", "range", "sort", "order", "page", "status", "assigned", "bookmarked", "other"]),
        ($"projects/1/issues/{Checkout}", ["event", "other"]),
        ("projects/1/releases", ["page", "other"]),
        ("projects", ["other"]),
        ("projects/1/settings", ["other"]),
        ("projects/1/alerts", ["other"]),
        ("users", ["other"]),
        ("account", ["other"]),
    ];

    /// <summary>Already escaped: sent as they stand.</summary>
    private static readonly string[] RawValues =
    [
        "%FF%FE", "%C0%AF", "%ED%A0%80", "%00", "a%00b", "%0D%0ASet-Cookie:%20x=1", "%E2%80%AE%E2%81%A7", "%25", "%", "%G0",
        "99999999999999999999999", "2147483648", "-1", "0", "1e9", "%2F%2Fevil.example", "..%2F..%2Fusers", "is:resolved%20is:ignored",
        new string('x', 6 * 1024),
    ];

    private static readonly string[] HostilePaths =
    [
        "projects/1/issues/%2F..%2F..%2Fusers", "projects/1/issues/%00", "projects/1/issues/%FF", "projects/1/issues/..%2F..%2F2%2Fissues",
        "projects/99999999999999999999/issues", "projects/-1/issues", "projects/0/releases", "projects/1/issues/" + new string('f', 4000),
        "projects/%2F1/issues", "projects/1%00/issues", $"projects/1/issues/{Checkout}%0D%0AX:%20y", $"projects/1/issues/{Checkout}/users.csv?q=%FF",
        "projects/1/issues?page=1&page=2&q=a&q=b&sort=events&sort=users", "projects/1/releases?page=1&page=99999999999",
    ];

    [Fact]
    public async Task Every_page_answers_hostile_query_values_and_paths_with_a_page_a_redirect_or_a_4xx_never_a_5xx()
    {
        using var server = DashboardServer.Start();
        var now = DateTimeOffset.UtcNow;
        await server.Services.GetRequiredService<IEventWriter>().InsertEventsAsync(
            [.. Enumerable.Range(0, 30).Select(i => Create(1, i < 3 ? Checkout : Fingerprint("filler-" + i), now.AddMinutes(-i - 1)))]);
        using var admin = await server.SignedInClientAsync();
        using var anonymous = server.NewClient();

        var requests = new List<(HttpClient Client, string Path)>();
        foreach (var (page, names) in Pages)
        {
            foreach (var name in names)
            {
                foreach (var value in RawValues)
                {
                    requests.Add((admin, $"/{page}?{name}={value}"));
                }
            }
        }

        requests.AddRange(HostilePaths.Select(path => (admin, "/" + path)));
        requests.AddRange(RawValues.Select(value => (anonymous, $"/login?returnUrl={value}&signedOut={value}&session={value}")));
        requests.AddRange(RawValues.Select(value => (anonymous, $"/projects/1/issues?q={value}")));

        var failures = new ConcurrentQueue<string>();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (request, cancellationToken) =>
        {
            using var response = await request.Client.GetAsync(request.Path, cancellationToken);
            var status = (int)response.StatusCode;
            var what = $"GET {request.Path[..Math.Min(request.Path.Length, 160)]}: {status}";
            if (status >= 500)
            {
                failures.Enqueue(what + " " + (await response.Content.ReadAsStringAsync(cancellationToken))[..Math.Min(300, (int)(response.Content.Headers.ContentLength ?? 300))]);
            }
            else if (status == 200 && response.Content.Headers.ContentType?.MediaType is not ("text/html" or "text/csv"))
            {
                failures.Enqueue("not a page: " + what + " " + response.Content.Headers.ContentType);
            }
            else if (response.Headers.Location is { } location && (location.IsAbsoluteUri && location.Host != server.BaseAddress.Host || location.OriginalString.StartsWith("//", StringComparison.Ordinal)))
            {
                failures.Enqueue($"redirected off the dashboard: {what} to {location}");
            }
        });

        failures.Should().BeEmpty($"{requests.Count} requests");
        (await admin.GetAsync("/projects/1/issues")).StatusCode.Should().Be(HttpStatusCode.OK, "the dashboard keeps serving");
        server.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task The_account_pages_forms_answer_hostile_fields_with_a_page_never_a_5xx_and_change_nothing_they_should_not()
    {
        using var server = DashboardServer.Start();
        using var client = await server.SignedInClientAsync();
        var before = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var token = Uri.EscapeDataString(await DashboardForms.AntiforgeryTokenAsync(client, "/account"));
        string[] fields =
        [
            "NewToken.Name=%FF%FE", "NewToken.Name=a%00b", "NewToken.Name=a%0D%0Ab", "NewToken.Name=" + new string('n', 300_000),
            "NewToken.Name=a&NewToken.Name=b", "NewToken.Name[0]=x", "NewToken=x", "Revoke.TokenId=x", "Revoke.TokenId=%00",
            "Revoke.TokenId=99999999999999999999", "Revoke.TokenId=" + Guid.NewGuid() + "&Revoke.TokenId=" + Guid.NewGuid(),
            "Password.CurrentPassword=%FF&Password.NewPassword=%00%00%00%00%00%00%00%00%00%00%00%00&Password.ConfirmPassword=%00%00%00%00%00%00%00%00%00%00%00%00",
            "Password.NewPassword=" + new string('p', 300_000), "",
        ];
        var failures = new List<string>();
        foreach (var handler in new[] { "create-token", "revoke-token", "change-password", "no-such-form", "%FF" })
        {
            foreach (var field in fields)
            {
                using var body = new StringContent($"_handler={handler}&__RequestVerificationToken={token}&{field}", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded");
                using var response = await client.PostAsync("/account", body);
                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"{handler} {field[..Math.Min(60, field.Length)]}: {(int)response.StatusCode}");
                }
            }
        }

        failures.Should().BeEmpty();
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        (await server.Access.GetApiTokensAsync(admin!.Id)).Select(t => t.Name).Should().OnlyContain(name => !name.Contains('\0') && !name.Contains('\n') && name.Length <= 200);
        admin.PasswordHash.Should().Be(before!.PasswordHash, "no hostile form changed the password");
        server.Logs.Errors.Should().BeEmpty();
    }
}
