using System.Collections.Concurrent;
using System.Net;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.Dashboard;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>
/// The login form under hostile input over real HTTP: values of a megabyte, NUL and control characters, thousands of
/// fields. Each gets a page (never a 5xx or a blank answer), the account's lockout counts as for any wrong password, and the
/// password hash never runs on what no account can have: PBKDF2 reads all of a password, on every attempt.
/// </summary>
public sealed class SignInHostileInputTests
{
    private const int Megabyte = 1024 * 1024;

    [Theory]
    [InlineData("a password of 1 MB")]
    [InlineData("an email of 1 MB")]
    [InlineData("control characters in the email")]
    [InlineData("control characters in the password")]
    public async Task A_hostile_value_is_a_wrong_sign_in_answered_on_the_page_without_hashing_what_no_account_can_have(string value)
    {
        var hashed = new ConcurrentQueue<int>();
        using var server = DashboardServer.Start(testServices: services => services.AddSingleton<IPasswordHasher<UserAccount>>(new RecordingHasher(hashed)));
        using var client = server.NewClient();
        var (email, password) = value switch
        {
            "a password of 1 MB" => (DashboardServer.AdminEmail, new string('p', Megabyte)),
            "an email of 1 MB" => (new string('e', Megabyte) + "@example.com", "a wrong password"),
            "control characters in the email" => ("admin\u0001@example.com\u001b[2J", "a wrong password"),
            _ => (DashboardServer.AdminEmail, DashboardServer.AdminPassword + "\u0001\u001b[2J"),
        };

        hashed.Clear(); // the start's admin

        using var response = await DashboardForms.PostLoginAsync(client, email, password);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var page = await response.Content.ReadAsStringAsync();
        DashboardForms.Problem(page).Should().Be("Wrong email or password.");
        page.Length.Should().BeLessThan(3 * Megabyte, "the page carries at most the typed email back, never the password");
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect, "not signed in");
        hashed.Should().NotContain(length => length > Server.AccessRules.MaxPasswordLength, "no account has a longer password");
        if (value.Contains("email", StringComparison.Ordinal))
        {
            hashed.Should().BeEmpty("no account has such an email: nothing to hash, nothing to ask the store");
        }

        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        server.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData("Input.Email")]
    [InlineData("Input.Password")]
    public async Task A_NUL_in_a_field_gets_the_expired_form_page_and_signs_no_one_in(string field)
    {
        // ASP.NET Core's antiforgery check fails a form with a NUL in any value: the page that says so, not a blank 400.
        using var server = DashboardServer.Start();
        using var client = server.NewClient();
        var fields = new Dictionary<string, string> { ["Input.Email"] = DashboardServer.AdminEmail, ["Input.Password"] = DashboardServer.AdminPassword };
        fields[field] += "\0";

        using var response = await DashboardForms.PostAsync(client, "login", "login", fields);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("Nothing was changed");
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect, "not signed in");
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        server.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task Passwords_of_a_megabyte_still_count_towards_the_accounts_lockout()
    {
        var hashed = new ConcurrentQueue<int>();
        using var server = DashboardServer.Start(new() { ["ErrorHub:Access:MaxFailedLogins"] = "3" }, testServices: services => services.AddSingleton<IPasswordHasher<UserAccount>>(new RecordingHasher(hashed)));
        using var client = server.NewClient();

        for (var attempt = 1; attempt <= 2; attempt++)
        {
            using var wrong = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, new string('p', Megabyte));
            DashboardForms.Problem(await wrong.Content.ReadAsStringAsync()).Should().Be("Wrong email or password.");
        }

        using var third = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, new string('p', Megabyte));
        using var right = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);

        third.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "a password no account can have is as wrong as any other");
        right.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        hashed.Should().NotContain(length => length > Server.AccessRules.MaxPasswordLength);
    }

    [Theory]
    [InlineData(10_000, "fields")]
    [InlineData(2_000, "fields the form binds")]
    [InlineData(1, "a 5 MB field")]
    public async Task A_login_form_of_thousands_of_fields_or_a_field_of_megabytes_gets_a_page_and_the_next_sign_in_works(int count, string what)
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();
        var fields = new Dictionary<string, string> { ["Input.Email"] = DashboardServer.AdminEmail, ["Input.Password"] = "a wrong password" };
        for (var i = 0; i < count; i++)
        {
            switch (what)
            {
                case "fields":
                    fields["f" + i] = "v";
                    break;
                case "fields the form binds":
                    fields[$"Input.Extra{i}"] = "v";
                    break;
                default:
                    fields["Input.Password"] = new string('p', 5 * Megabyte);
                    break;
            }
        }

        using var response = await DashboardForms.PostAsync(client, "login", "login", fields);

        ((int)response.StatusCode).Should().BeInRange(200, 499, what);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html", "a page, not a blank answer");
        (await response.Content.ReadAsStringAsync()).Should().NotBeEmpty();
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect, "not signed in");
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        server.Logs.Errors.Should().BeEmpty();
    }

    /// <summary>ASP.NET Core's own hasher, noting the length of every password it is given.</summary>
    private sealed class RecordingHasher(ConcurrentQueue<int> lengths) : IPasswordHasher<UserAccount>
    {
        private readonly PasswordHasher<UserAccount> _hasher = new();

        public string HashPassword(UserAccount user, string password)
        {
            lengths.Enqueue(password.Length);
            return _hasher.HashPassword(user, password);
        }

        public PasswordVerificationResult VerifyHashedPassword(UserAccount user, string hashedPassword, string providedPassword)
        {
            lengths.Enqueue(providedPassword.Length);
            return _hasher.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }
}
