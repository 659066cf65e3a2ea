using System.Net;
using ErrorHub.Dashboard.Tests.Infrastructure;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>
/// A session cookie that is not one the dashboard wrote, over real HTTP and without a sign-in: garbage, 3 KB of it, and
/// the chunked form's count ("chunks-N", read by ASP.NET Core's chunking cookie manager) far past any real session, with
/// none or some of the chunks it claims. Each is no session: a page sends to the login page, the API answers 401, the
/// answer deletes only the cookies the request had, and the dashboard keeps serving with nothing logged as an error.
/// </summary>
public sealed class SessionCookieHostileInputTests
{
    [Fact]
    public async Task A_session_cookie_of_garbage_or_claiming_millions_of_chunks_is_no_session_answered_with_a_bounded_redirect_or_401()
    {
        using var server = DashboardServer.Start();
        string[] cookies =
        [
            "ErrorHub.Session=garbage",
            "ErrorHub.Session=" + new string('A', 3000),
            "ErrorHub.Session=chunks-2147483647",
            "ErrorHub.Session=chunks-1000000; ErrorHub.SessionC1=garbage",
            "ErrorHub.Session=chunks-17; ErrorHub.SessionC1=garbage",
            "ErrorHub.Session=chunks-2; ErrorHub.SessionC1=garbage; ErrorHub.SessionC2=garbage",
            "ErrorHub.Session=chunks-99999999999",
            "ErrorHub.Session=chunks--1",
        ];

        foreach (var cookie in cookies)
        {
            using var client = server.NewClient();
            foreach (var path in new[] { "/projects/1/issues", "/api/projects" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Add("Cookie", cookie);
                using var response = await client.SendAsync(request);

                var what = $"{cookie[..Math.Min(60, cookie.Length)]} on {path}";
                response.StatusCode.Should().Be(path.StartsWith("/api/", StringComparison.Ordinal) ? HttpStatusCode.Unauthorized : HttpStatusCode.Redirect, what);
                (response.Headers.TryGetValues("Set-Cookie", out var set) ? set.Count() : 0).Should().BeLessThanOrEqualTo(3, $"{what}: the cookie is deleted, not the chunks it claims");
            }
        }

        server.Logs.Errors.Should().BeEmpty();
        using var admin = await server.SignedInClientAsync();
        (await admin.GetAsync("/projects/1/issues")).StatusCode.Should().Be(HttpStatusCode.OK, "a real session still works");
    }
}
