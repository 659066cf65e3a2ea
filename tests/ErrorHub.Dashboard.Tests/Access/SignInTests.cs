using System.Net;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.Dashboard;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>Signing in and out over real HTTP against the real dashboard: what a person at the login form sees.</summary>
public sealed class SignInTests
{
    [Theory]
    [InlineData("/", "/login?returnUrl=%2F")]
    [InlineData("/projects/1/issues", "/login?returnUrl=%2Fprojects%2F1%2Fissues")]
    [InlineData("/users", "/login?returnUrl=%2Fusers")]
    [InlineData("/no/such/page", "/login?returnUrl=%2Fno%2Fsuch%2Fpage")]
    public async Task Without_signing_in_every_page_sends_to_the_login_page(string path, string expectedLocation)
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var response = await client.GetAsync(path);

        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.PathAndQuery.Should().Be(expectedLocation);
        (await response.Content.ReadAsStringAsync()).Should().NotContain("Web shop");
    }

    [Fact]
    public async Task The_api_and_the_blazor_hub_answer_401_without_a_sign_in_and_the_open_endpoints_stay_open()
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var api = await client.GetAsync("/api/projects");
        using var project = await client.GetAsync("/api/projects/1");
        using var negotiate = await client.PostAsync("/_blazor/negotiate?negotiateVersion=1", null);
        using var health = await client.GetAsync("/healthz");
        using var login = await client.GetAsync("/login");
        using var script = await client.GetAsync("/_framework/blazor.web.js");

        api.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await api.Content.ReadAsStringAsync()).Should().Contain("Authorization: Bearer");
        project.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        negotiate.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the hub serves page data: nothing without a sign-in");
        health.StatusCode.Should().Be(HttpStatusCode.OK);
        login.StatusCode.Should().Be(HttpStatusCode.OK);
        script.StatusCode.Should().Be(HttpStatusCode.OK, "the login page needs the scripts and styles");
    }

    [Fact]
    public async Task A_HEAD_of_a_page_is_answered_as_its_GET_without_a_body_so_the_login_pages_HEAD_is_not_redirected_to_itself()
    {
        // Link checkers and uptime monitors send HEAD: the login page's HEAD was redirected to the login page, whose HEAD
        // was redirected again, with an ever longer return address, without end.
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var login = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/login"));
        using var page = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/projects/1/issues"));

        login.StatusCode.Should().Be(HttpStatusCode.OK);
        login.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        (await login.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        page.StatusCode.Should().Be(HttpStatusCode.Redirect, "as its GET: a page of project data needs a sign-in");
        page.Headers.Location!.PathAndQuery.Should().Be("/login?returnUrl=%2Fprojects%2F1%2Fissues");
        server.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData("TRACE", "/login")]
    [InlineData("OPTIONS", "/login")]
    [InlineData("PUT", "/projects/1/issues")]
    [InlineData("DELETE", "/")]
    public async Task A_method_a_page_does_not_take_is_answered_405_without_a_sign_in_not_sent_to_the_login_page(string method, string path)
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.Should().Contain("GET");
        server.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData("POST", "/healthz")]
    [InlineData("PUT", "/readyz")]
    [InlineData("DELETE", "/metrics")]
    [InlineData("TRACE", "/healthz")]
    public async Task A_method_the_operations_endpoints_do_not_take_is_answered_405_naming_GET_and_HEAD_not_200(string method, string path)
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var refused = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        refused.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        refused.Content.Headers.Allow.Should().Contain(["GET", "HEAD"]).And.NotContain("POST");
        head.StatusCode.Should().Be(HttpStatusCode.OK, "load balancers' health checks may send HEAD");
        server.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData("TRACE")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task A_method_ingest_does_not_take_is_the_405_json_that_names_POST_not_a_request_for_an_api_token(string method)
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/api/1/events"));

        // GET and HEAD, and OPTIONS (a browser's preflight, answered 204 with the methods it takes): IngestPathTests.
        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.Should().Contain("POST");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        (await response.Content.ReadAsStringAsync()).Should().Contain($"does not take {method}; it takes").And.Contain("POST");
    }

    [Fact]
    public async Task Signing_in_opens_the_pages_the_hub_and_the_api_and_signing_out_closes_them()
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var signIn = await DashboardForms.PostLoginAsync(client, "  Admin@Example.com ", DashboardServer.AdminPassword, "login?returnUrl=%2Fprojects%2F1%2Fissues");

        signIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        signIn.Headers.Location!.ToString().Should().EndWith("/projects/1/issues", "the login page returns to where the user was going");
        var home = await client.GetStringAsync("/");
        home.Should().Contain("Web shop").And.Contain(DashboardServer.ProjectKey, "the DSN is on the project list");
        (await client.GetAsync("/projects/1/issues")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.PostAsync("/_blazor/negotiate?negotiateVersion=1", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetStringAsync("/api/projects")).Should().Contain("\"name\":\"Web shop\"");

        using var logout = await PostLogoutAsync(client);
        logout.StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect, "signed out");
        (await client.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task After_signing_out_a_copy_of_the_session_cookie_no_longer_signs_anyone_in()
    {
        using var server = DashboardServer.Start();
        using var signedIn = await SignInAndCopyTheCookiesAsync(server);
        var (client, thief, _) = signedIn;
        (await thief.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK, "the copy works while the session lasts");

        using var logout = await PostLogoutAsync(client);

        logout.StatusCode.Should().Be(HttpStatusCode.Redirect);
        logout.Headers.Location!.ToString().Should().Be("/login?signedOut=everywhere");
        (await client.GetStringAsync("/login?signedOut=everywhere")).Should().Contain("You are signed out.").And.NotContain("Your session ended");
        using var ended = await thief.GetAsync("/projects/1/issues?status=resolved");
        ended.StatusCode.Should().Be(HttpStatusCode.Redirect, "signing out ends the session, not only this browser's cookie");
        ended.Headers.Location!.PathAndQuery.Should().Be("/login?returnUrl=%2Fprojects%2F1%2Fissues%3Fstatus%3Dresolved&session=ended", "the login page says why, and returns to the page");
        (await thief.GetStringAsync(ended.Headers.Location)).Should().Contain("Your session ended; sign in again.").And.NotContain("You are signed out.");
        (await thief.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await thief.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK, "signing in again works");
    }

    [Fact]
    public async Task An_ended_sessions_background_requests_leave_the_next_page_saying_the_session_ended()
    {
        // An open tab signed out elsewhere: its circuit reconnecting and app.js asking healthz carry the cookie before the
        // next page does. They deleted it, and the page then sent to a login page that did not say why.
        using var server = DashboardServer.Start();
        using var signedIn = await SignInAndCopyTheCookiesAsync(server);
        var (client, otherTab, copied) = signedIn;
        using var logout = await PostLogoutAsync(client);
        logout.Headers.Location!.ToString().Should().Be("/login?signedOut=everywhere");

        using (await otherTab.PostAsync("/_blazor/negotiate?negotiateVersion=1", null))
        {
        }

        (await otherTab.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await otherTab.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        using var page = await otherTab.GetAsync("/account");
        page.StatusCode.Should().Be(HttpStatusCode.Redirect);
        page.Headers.Location!.PathAndQuery.Should().Be("/login?returnUrl=%2Faccount&session=ended", "the login page says why");
        copied.GetCookies(server.BaseAddress).Should().NotContain(c => c.Name == "ErrorHub.Session", "the page's redirect deletes the ended cookie");
        using var next = await otherTab.GetAsync("/account");
        next.Headers.Location!.PathAndQuery.Should().Be("/login?returnUrl=%2Faccount", "once the login page said it, nothing ended again");
    }

    [Fact]
    public async Task An_expired_session_sends_to_the_login_page_saying_it_ended_and_a_first_visit_says_nothing()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = DashboardServer.Start(new() { ["ErrorHub:Access:SessionLifetime"] = "01:00:00" }, clock: clock);
        using var client = server.NewClient();
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        (await client.GetAsync("/users")).StatusCode.Should().Be(HttpStatusCode.OK);

        clock.Advance(TimeSpan.FromHours(2));

        using var expired = await client.GetAsync("/users");
        expired.StatusCode.Should().Be(HttpStatusCode.Redirect);
        expired.Headers.Location!.PathAndQuery.Should().Be("/login?returnUrl=%2Fusers&session=ended");
        using var stranger = server.NewClient();
        var firstVisit = await stranger.GetAsync("/users");
        firstVisit.Headers.Location!.PathAndQuery.Should().Be("/login?returnUrl=%2Fusers", "without a sign-in cookie nothing ended");
        var login = await stranger.GetStringAsync("/login?returnUrl=%2Fusers");
        login.Should().NotContain("Your session ended").And.NotContain("You are signed out.");
    }

    [Fact]
    public async Task Signing_out_needs_the_antiforgery_token_so_another_site_cannot_sign_people_out()
    {
        using var server = DashboardServer.Start();
        using var client = await server.SignedInClientAsync();

        using var forged = await client.PostAsync("/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["returnUrl"] = "/" }));

        forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK, "still signed in");
    }

    [Theory]
    [InlineData("login", "no token")]
    [InlineData("login", "a forged token")]
    [InlineData("login", "another browser's token")]
    [InlineData("account", "no token")]
    public async Task A_form_sent_without_its_antiforgery_token_gets_a_page_saying_so_and_changes_nothing(string page, string token)
    {
        using var server = DashboardServer.Start();
        using var client = page == "account" ? await server.SignedInClientAsync() : server.NewClient();
        using var other = server.NewClient();
        var fields = new Dictionary<string, string> { ["_handler"] = page == "account" ? "change-password" : page, ["Input.Email"] = DashboardServer.AdminEmail, ["Input.Password"] = DashboardServer.AdminPassword };
        switch (token)
        {
            case "a forged token":
                fields["__RequestVerificationToken"] = "CfDJ8" + new string('A', 150);
                break;
            case "another browser's token":
                fields["__RequestVerificationToken"] = await DashboardForms.AntiforgeryTokenAsync(other, page);
                break;
        }

        using var refused = await client.PostAsync(page, new FormUrlEncodedContent(fields));

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        refused.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        var html = await refused.Content.ReadAsStringAsync();
        html.Should().Contain("This form has expired", "not a blank page").And.Contain("Nothing was changed").And.Contain($"href=\"/{page}\"");
        if (page == "login")
        {
            (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect, "not signed in");
        }
    }

    [Fact]
    public async Task A_wrong_password_is_refused_and_five_in_a_row_lock_the_account_even_for_the_right_password_until_the_lockout_ends()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = DashboardServer.Start(new() { ["ErrorHub:Access:LockoutDuration"] = "00:05:00" }, clock: clock);
        using var client = server.NewClient();

        for (var attempt = 1; attempt <= 4; attempt++)
        {
            using var wrong = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, "wrong password " + attempt);
            wrong.StatusCode.Should().Be(HttpStatusCode.OK);
            DashboardForms.Problem(await wrong.Content.ReadAsStringAsync()).Should().Be("Wrong email or password.");
        }

        using var fifth = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, "wrong password 5");
        using var right = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);

        fifth.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        DashboardForms.Problem(await fifth.Content.ReadAsStringAsync()).Should().StartWith("Too many failed sign-ins: this account is locked until");
        right.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "a locked account does not even check the password");
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect, "not signed in");
        server.Logs.Entries.Should().Contain(e => e.Message.Contains("locked until", StringComparison.Ordinal));

        clock.Advance(TimeSpan.FromMinutes(4));
        using var stillLocked = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        stillLocked.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "the lockout lasts five minutes");

        clock.Advance(TimeSpan.FromMinutes(1.5));
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_unknown_email_gets_the_same_answer_as_a_wrong_password()
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var response = await DashboardForms.PostLoginAsync(client, "nobody@example.com", DashboardServer.AdminPassword);

        DashboardForms.Problem(await response.Content.ReadAsStringAsync()).Should().Be("Wrong email or password.");
    }

    [Fact]
    public async Task Wrong_passwords_for_an_unknown_email_are_answered_like_an_accounts_lockout_included_so_no_one_learns_which_emails_exist()
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        async Task<List<string>> AnswersAsync(string email)
        {
            var answers = new List<string>();
            for (var attempt = 1; attempt <= 6; attempt++)
            {
                using var response = await DashboardForms.PostLoginAsync(client, email, "wrong password " + attempt);
                var problem = DashboardForms.Problem(await response.Content.ReadAsStringAsync());
                answers.Add($"{(int)response.StatusCode} {System.Text.RegularExpressions.Regex.Replace(problem ?? "", "[0-9]", "#")}");
            }

            return answers;
        }

        var account = await AnswersAsync(DashboardServer.AdminEmail);
        var nobody = await AnswersAsync("nobody@example.com");

        account.Should().Contain(a => a.StartsWith("429 Too many failed sign-ins", StringComparison.Ordinal), "the account locks");
        nobody.Should().Equal(account, "an email without an account answers the same, attempt by attempt");
    }

    [Fact]
    public async Task A_failed_sign_in_answers_without_the_typed_password_in_the_page()
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var response = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, "typed-secret-Hunter2");

        var page = await response.Content.ReadAsStringAsync();
        DashboardForms.Problem(page).Should().Be("Wrong email or password.");
        page.Should().NotContain("typed-secret-Hunter2", "a page that echoes the password keeps it in caches, history and view-source");
        page.Should().Contain(DashboardServer.AdminEmail, "the email stays filled in, so only the password is typed again");
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example/")]
    [InlineData("/https:evil.example/")]
    [InlineData("/https:%2F%2Fevil.example/")]
    [InlineData("/javascript:alert(1)")]
    public async Task The_login_page_never_sends_anyone_to_another_site(string returnUrl)
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();

        using var response = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword, "login?returnUrl=" + Uri.EscapeDataString(returnUrl));

        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var location = new Uri(server.BaseAddress, response.Headers.Location!);
        location.Authority.Should().Be(server.BaseAddress.Authority);
        location.AbsolutePath.Should().Be("/");
    }

    /// <summary>The admin signed in with a client of its own, and a second client with a copy of its cookies: another tab, or a stolen cookie.</summary>
    private static async Task<SignedInTwice> SignInAndCopyTheCookiesAsync(DashboardServer server)
    {
        var cookies = new CookieContainer();
        var client = server.NewClient(cookies);
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        var copied = new CookieContainer();
        copied.Add(cookies.GetCookies(server.BaseAddress));
        return new SignedInTwice(client, server.NewClient(copied), copied);
    }

    private sealed record SignedInTwice(HttpClient Client, HttpClient Copy, CookieContainer CopyCookies) : IDisposable
    {
        public void Dispose()
        {
            Client.Dispose();
            Copy.Dispose();
        }
    }

    private static async Task<HttpResponseMessage> PostLogoutAsync(HttpClient client)
    {
        // The header's sign-out form, with the token of the page it is on.
        var page = await client.GetStringAsync("/");
        var token = System.Text.RegularExpressions.Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token) });
        return await client.PostAsync("/logout", form);
    }
}
