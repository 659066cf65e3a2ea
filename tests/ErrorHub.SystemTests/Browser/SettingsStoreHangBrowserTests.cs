using System.Text.RegularExpressions;
using ErrorHub.Storage;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// Every change of the settings pages (a project's name, keys, members, limits and deletion, a new project, the Users
/// page's invitation, reset link, role and account state, the alert rules and one's own alert choices) and the issue
/// page's Unmerge, made while the ClickHouse node hangs: each says "Not saved" on its page, keeps the page, its circuit
/// and what was typed, shows nothing as done that was not stored, and the same click works once the node runs again.
/// Each change has its own project and account, so that the changes do not meet each other.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class SettingsStoreHangBrowserTests(BrowserFixture browser, HungStoreDashboard dashboard) : IClassFixture<HungStoreDashboard>
{
    private static int _nextProjectId = 100;

    public static TheoryData<string> ChangeNames => [.. Changes.Keys];

    [Theory]
    [MemberData(nameof(ChangeNames))]
    public async Task A_settings_change_on_a_hung_node_says_not_saved_shows_what_is_stored_and_works_when_made_again(string name)
    {
        var change = Changes[name];
        var subject = await NewSubjectAsync(change.IsMember);
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await dashboard.SignInAsync(page, change.Path(subject));
            // The live page has read the store (its parts read it after the circuit starts): a node hung before that
            // fails the page's read, which shows the page-wide store error, not the change's.
            foreach (var loaded in change.Loaded(page, subject))
            {
                await Expect(loaded).ToBeVisibleAsync();
            }

            await change.Prepare(page, subject);

            dashboard.Hang(true);
            try
            {
                await change.Make(page, subject);
                await Expect(change.Problem(page)).ToHaveTextAsync(HungStoreDashboard.NotSaved, new() { Timeout = 30_000 });
                await change.ExpectNotDone(page, subject);
                await HungStoreDashboard.ExpectPageAndCircuitKeptAsync(page);
            }
            finally
            {
                dashboard.Hang(false);
            }

            await change.Make(page, subject);
            await change.ExpectDone(page, subject);
            if (change.Stored is { } stored)
            {
                // What the page showed is what the store holds: read again, the change is there.
                await page.ReloadAsync();
                await BrowserSignIn.WaitUntilInteractiveAsync(page);
                await stored(page, subject);
            }

            problems.All.Should().BeEmpty();
        }
        catch (PlaywrightException failure)
        {
            // A wait that ran out says only what it did not find; what the page showed instead and what the dashboard
            // logged meanwhile are what explain a failure seen only in full runs on a busy machine.
            throw new PlaywrightException(
                $"{failure.Message}{Environment.NewLine}The page showed:{Environment.NewLine}{await VisibleTextAsync(page)}{Environment.NewLine}" +
                $"The dashboard logged last:{Environment.NewLine}{dashboard.LogTail()}",
                failure);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    private static async Task<string> VisibleTextAsync(IPage page)
    {
        try
        {
            var text = await page.Locator("body").InnerTextAsync(new() { Timeout = 5_000 });
            return text.Length <= 4_000 ? text : text[..4_000] + "…";
        }
        catch (PlaywrightException unreadable)
        {
            return "(unreadable: " + unreadable.Message + ")";
        }
    }

    /// <summary>
    /// Signing out and in while the node hangs: sign-out still signs this browser out and says what it could not end; the
    /// login page and each sign-in answer 503 with Retry-After and say the store is not answering above the form, which
    /// keeps the typed email (never a 500); none of those sign-ins counts as failed, so more of them than the account's
    /// and the address's limits lock nobody out, and the right password signs in at once when the node runs again.
    /// </summary>
    [Fact]
    public async Task Signing_out_and_in_on_a_hung_node_says_the_store_is_not_answering_and_counts_no_failed_sign_in()
    {
        const string StoreNotAnswering = "Not signed in: the store is not answering. Try again in a few seconds.";
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await dashboard.SignInAsync(page, "");
            dashboard.Hang(true);
            try
            {
                await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
                await Expect(page).ToHaveURLAsync(dashboard.Url("login?signedOut=here-only").ToString(), new() { Timeout = 30_000 });
                await Expect(page.Locator(".signed-out-here-only")).ToContainTextAsync("Signed out of this browser.");
                await Expect(page.Locator(".form-error")).ToHaveTextAsync(StoreNotAnswering);
                (await page.Context.CookiesAsync()).Should().NotContain(cookie => cookie.Name == "ErrorHub.Session");
                var loginPage = await page.GotoAsync(dashboard.Url("").ToString());
                await Expect(page).ToHaveURLAsync(new Regex("/login\\?returnUrl="));
                loginPage!.Status.Should().Be(503);
                (await loginPage.HeaderValueAsync("retry-after")).Should().NotBeNull();

                // Wrong passwords and the right one, more often than the account's and the address's limits allow failures.
                for (var attempt = 0; attempt <= HungStoreDashboard.SignInFailuresPerAddress; attempt++)
                {
                    await page.GetByLabel("Email").FillAsync(DashboardSeed.AdminEmail);
                    await page.GetByLabel("Password").FillAsync(attempt % 2 == 0 ? "not the password" : DashboardSeed.AdminPassword);
                    var answer = await page.RunAndWaitForResponseAsync(
                        () => page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync(),
                        response => response.Request.Method == "POST");
                    answer.Status.Should().Be(503);
                    await Expect(page.Locator(".form-error")).ToHaveTextAsync(StoreNotAnswering);
                    await Expect(page.GetByLabel("Email")).ToHaveValueAsync(DashboardSeed.AdminEmail);
                    await Expect(page.GetByLabel("Password")).ToHaveValueAsync("");
                }
            }
            finally
            {
                dashboard.Hang(false);
            }

            await dashboard.SignInAsync(page, "");
            await Expect(page.Locator(".header-user")).ToBeVisibleAsync();
            await dashboard.WriteAsync(async services =>
            {
                var admin = await services.GetRequiredService<IAccessStore>().FindUserByEmailAsync(DashboardSeed.AdminEmail);
                admin!.FailedLogins.Should().Be(0);
                admin.LockedUntil.Should().BeNull();
            });
            problems.All.Should().OnlyContain(problem => problem.Contains("503"), "the outage answers 503, never a 500 or a script error");
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    /// <summary>A project and a member account (of that project, when asked) of this change's own, made through the store.</summary>
    private async Task<Subject> NewSubjectAsync(bool member)
    {
        var id = Interlocked.Increment(ref _nextProjectId);
        var subject = new Subject(id, $"Hang project {id}", $"hang-{id}@example.com");
        await dashboard.WriteAsync(async services =>
        {
            await services.GetRequiredService<IProjectStore>().UpsertProjectAsync(new Project(id, subject.ProjectName, $"hang-key-{id}", DateTimeOffset.UtcNow));
            var user = new UserAccount(Guid.NewGuid(), subject.Email, $"Account {id}", "", UserRole.Member, Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow);
            var access = services.GetRequiredService<IAccessStore>();
            await access.CreateUserAsync(user);
            if (member)
            {
                await access.AddMemberAsync(id, user.Id);
            }

            subject.UserId = user.Id;
        });
        return subject;
    }

    /// <summary>A project's settings page, read: its keys, and the SDK drops its part reads on its own.</summary>
    private static readonly ChangePage Settings = new(
        subject => $"projects/{subject.ProjectId}/settings",
        (page, _) => [page.Locator(".keys-table .active-key").First, page.Locator(".sdk-drops-summary")]);

    private static readonly ChangePage UsersPage = new(
        _ => "users",
        (page, subject) => [page.Locator(".users-table tr", new() { HasText = subject.Email })]);

    private static readonly ChangePage Alerts = new(
        subject => $"projects/{subject.ProjectId}/alerts",
        (page, _) => [page.Locator(".rules-table")]);

    private static readonly ChangePage ProjectsPage = new(_ => "", (page, _) => [page.Locator(".projects-table")]);

    /// <summary>The issue page, read: its merges and its timeline, which its parts read on their own.</summary>
    private static readonly ChangePage Issue = new(
        _ => $"projects/{DashboardSeed.Shop.Id}/issues/{DashboardSeed.CheckoutFingerprint}",
        (page, _) => HungStoreDashboard.IssueParts(page));

    private static readonly Dictionary<string, SettingsChange> Changes = new()
    {
        ["project name"] = new(
            Settings,
            Prepare: (page, _) => page.GetByLabel("Project name").FillAsync("Renamed after the hang"),
            Make: (page, _) => page.GetByRole(AriaRole.Button, new() { Name = "Rename" }).ClickAsync(),
            Problem: SettingsProblem("name-heading"),
            ExpectNotDone: async (page, s) =>
            {
                await Expect(page.Locator("h1")).ToHaveTextAsync($"{s.ProjectName} settings");
                await Expect(page.GetByLabel("Project name")).ToHaveValueAsync("Renamed after the hang");
                await Expect(page.Locator(".form-note")).ToHaveCountAsync(0);
            },
            ExpectDone: (page, _) => Expect(page.Locator("h1")).ToHaveTextAsync("Renamed after the hang settings"),
            Stored: (page, _) => Expect(page.Locator("h1")).ToHaveTextAsync("Renamed after the hang settings")),
        ["new key"] = new(
            Settings,
            Prepare: (page, _) => page.GetByLabel("Name of the new key").FillAsync("Mobile app"),
            Make: (page, _) => page.GetByRole(AriaRole.Button, new() { Name = "Add key" }).ClickAsync(),
            Problem: SettingsProblem("keys-heading"),
            ExpectNotDone: async (page, _) =>
            {
                await Expect(page.Locator(".keys-table .active-key")).ToHaveCountAsync(1);
                await Expect(page.GetByLabel("Name of the new key")).ToHaveValueAsync("Mobile app");
            },
            ExpectDone: (page, _) => Expect(page.Locator(".keys-table .active-key")).ToHaveCountAsync(2),
            Stored: (page, _) => Expect(page.Locator(".keys-table .active-key")).ToHaveCountAsync(2)),
        ["key rotation"] = new(
            Settings,
            Prepare: NoPreparation,
            Make: (page, _) => ConfirmAsync(page, "Rotate key Default", "Rotate"),
            Problem: SettingsProblem("keys-heading"),
            ExpectNotDone: (page, _) => Expect(page.Locator(".keys-table .revoked-key")).ToHaveCountAsync(0),
            ExpectDone: (page, _) => Expect(page.Locator(".keys-table .revoked-key")).ToHaveCountAsync(1),
            Stored: (page, _) => Expect(page.Locator(".keys-table .revoked-key")).ToHaveCountAsync(1)),
        ["key revocation"] = new(
            Settings,
            Prepare: NoPreparation,
            Make: (page, _) => ConfirmAsync(page, "Revoke key Default", "Revoke"),
            Problem: SettingsProblem("keys-heading"),
            ExpectNotDone: (page, _) => Expect(page.Locator(".keys-table .active-key")).ToHaveCountAsync(1),
            ExpectDone: (page, _) => Expect(page.Locator(".keys-table .active-key")).ToHaveCountAsync(0),
            Stored: (page, _) => Expect(page.Locator(".keys-table .revoked-key")).ToHaveCountAsync(1)),
        ["new member"] = new(
            Settings,
            Prepare: (page, s) => ChooseAsync(page, page.Locator(".add-member-form .rz-dropdown"), s.Email),
            Make: (page, _) => page.Locator(".add-member-form").GetByRole(AriaRole.Button, new() { Name = "Add" }).ClickAsync(),
            Problem: SettingsProblem("members-heading"),
            ExpectNotDone: async (page, s) =>
            {
                await Expect(page.Locator(".member-list")).ToHaveCountAsync(0);
                await Expect(page.Locator(".add-member-form .rz-dropdown")).ToContainTextAsync(s.Email);
            },
            ExpectDone: (page, s) => Expect(page.Locator(".member-list")).ToContainTextAsync(s.Email),
            Stored: (page, s) => Expect(page.Locator(".member-list")).ToContainTextAsync(s.Email)),
        ["member removal"] = new(
            Settings,
            Prepare: NoPreparation,
            Make: (page, s) => page.GetByRole(AriaRole.Button, new() { Name = $"Remove {s.Email} from {s.ProjectName}" }).ClickAsync(),
            Problem: SettingsProblem("members-heading"),
            ExpectNotDone: (page, s) => Expect(page.Locator(".member-list")).ToContainTextAsync(s.Email),
            ExpectDone: (page, _) => Expect(page.Locator(".member-list")).ToHaveCountAsync(0),
            Stored: (page, _) => Expect(page.Locator(".member-list")).ToHaveCountAsync(0),
            IsMember: true),
        ["limits"] = new(
            Settings,
            Prepare: async (page, _) =>
            {
                var perMinute = page.GetByLabel("Events per minute", new() { Exact = true });
                await perMinute.FillAsync("600");
                await perMinute.PressAsync("Tab");
            },
            Make: (page, _) => page.GetByRole(AriaRole.Button, new() { Name = "Save limits" }).ClickAsync(),
            Problem: SettingsProblem("limits-heading"),
            ExpectNotDone: async (page, _) =>
            {
                await Expect(page.Locator(".form-note")).ToHaveCountAsync(0);
                await Expect(page.GetByLabel("Events per minute", new() { Exact = true })).ToHaveValueAsync("600");
            },
            ExpectDone: (page, _) => Expect(page.Locator(".form-note")).ToHaveTextAsync("Limits saved."),
            Stored: (page, _) => Expect(page.GetByLabel("Events per minute", new() { Exact = true })).ToHaveValueAsync("600")),
        ["project deletion"] = new(
            Settings,
            Prepare: NoPreparation,
            Make: (page, _) => ConfirmAsync(page, "Delete project", "Delete"),
            Problem: SettingsProblem("delete-heading"),
            ExpectNotDone: (page, s) => Expect(page.Locator("h1")).ToHaveTextAsync($"{s.ProjectName} settings"),
            ExpectDone: async (page, s) =>
            {
                await Expect(page.Locator("h1")).ToHaveTextAsync("Projects");
                await Expect(page.Locator(".projects-table")).Not.ToContainTextAsync(s.ProjectName);
            }),
        ["new project"] = new(
            ProjectsPage,
            Prepare: (page, s) => page.GetByLabel("Name of the new project").FillAsync(s.ProjectName + " made on the page"),
            Make: (page, _) => page.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync(),
            Problem: FormError,
            ExpectNotDone: async (page, s) =>
            {
                await Expect(page.Locator(".projects-table")).Not.ToContainTextAsync(s.ProjectName + " made on the page");
                await Expect(page.GetByLabel("Name of the new project")).ToHaveValueAsync(s.ProjectName + " made on the page");
            },
            ExpectDone: (page, s) => Expect(page.Locator("h1")).ToHaveTextAsync($"{s.ProjectName} made on the page settings")),
        ["role"] = new(
            UsersPage,
            Prepare: NoPreparation,
            Make: (page, s) => ChooseAsync(page, RoleBox(page, s), "Admin"),
            Problem: page => page.Locator(".accounts-problem"),
            // The box shows the role that is stored, so that choosing Admin again is a change the page sends.
            ExpectNotDone: (page, s) => Expect(RoleBox(page, s).Locator(".rz-dropdown-label")).ToHaveTextAsync("Member"),
            ExpectDone: async (page, s) =>
            {
                await Expect(RoleBox(page, s).Locator(".rz-dropdown-label")).ToHaveTextAsync("Admin");
                await Expect(page.Locator(".accounts-problem")).ToHaveCountAsync(0);
            },
            Stored: (page, s) => Expect(RoleBox(page, s).Locator(".rz-dropdown-label")).ToHaveTextAsync("Admin")),
        ["account disabled"] = new(
            UsersPage,
            Prepare: NoPreparation,
            Make: (page, s) => page.GetByRole(AriaRole.Button, new() { Name = $"Disable {s.Email}" }).ClickAsync(),
            Problem: page => page.Locator(".accounts-problem"),
            ExpectNotDone: (page, s) => Expect(page.GetByRole(AriaRole.Button, new() { Name = $"Disable {s.Email}" })).ToBeVisibleAsync(),
            ExpectDone: (page, s) => Expect(page.GetByRole(AriaRole.Button, new() { Name = $"Enable {s.Email}" })).ToBeVisibleAsync(),
            Stored: (page, s) => Expect(page.GetByRole(AriaRole.Button, new() { Name = $"Enable {s.Email}" })).ToBeVisibleAsync()),
        ["invitation"] = new(
            UsersPage,
            Prepare: (page, s) => page.GetByLabel("Email of the person to invite").FillAsync("invited-" + s.Email),
            Make: (page, _) => page.GetByRole(AriaRole.Button, new() { Name = "Create invitation link" }).ClickAsync(),
            Problem: FormError,
            ExpectNotDone: async (page, s) =>
            {
                await Expect(page.Locator(".form-note")).ToHaveCountAsync(0);
                await Expect(page.GetByLabel("Email of the person to invite")).ToHaveValueAsync("invited-" + s.Email);
            },
            ExpectDone: (page, _) => Expect(page.Locator(".form-note code.dsn")).ToContainTextAsync("/invitations/"),
            Stored: (page, s) => Expect(page.Locator(".invitations-table")).ToContainTextAsync("invited-" + s.Email)),
        ["password reset link"] = new(
            UsersPage,
            Prepare: async (page, s) => await page.GetByLabel("Account to make a password reset link for").SelectOptionAsync(s.UserId.ToString("D")),
            Make: (page, _) => page.GetByRole(AriaRole.Button, new() { Name = "Make reset link" }).ClickAsync(),
            Problem: page => page.Locator(".reset-problem"),
            ExpectNotDone: async (page, s) =>
            {
                await Expect(page.Locator(".password-reset-note")).ToHaveCountAsync(0);
                await Expect(page.GetByLabel("Account to make a password reset link for")).ToHaveValueAsync(s.UserId.ToString("D"));
            },
            ExpectDone: (page, s) => Expect(page.Locator(".password-reset-note")).ToContainTextAsync(s.Email)),
        ["alert rules"] = new(
            Alerts,
            Prepare: (page, _) => page.GetByLabel("Extra addresses").FillAsync("oncall@example.com"),
            Make: (page, _) => page.GetByRole(AriaRole.Button, new() { Name = "Save rules and addresses" }).ClickAsync(),
            Problem: FormError,
            ExpectNotDone: async (page, _) =>
            {
                await Expect(page.Locator(".form-note")).ToHaveCountAsync(0);
                await Expect(page.GetByLabel("Extra addresses")).ToHaveValueAsync("oncall@example.com");
            },
            ExpectDone: (page, _) => Expect(page.Locator(".form-note")).ToHaveTextAsync("Rules saved."),
            Stored: (page, _) => Expect(page.GetByLabel("Extra addresses")).ToHaveValueAsync("oncall@example.com")),
        ["my alert choices"] = new(
            Alerts,
            Prepare: (page, _) => page.Locator(".my-alerts-form input[type=checkbox]").First.UncheckAsync(),
            Make: (page, _) => page.GetByRole(AriaRole.Button, new() { Name = "Save my choices" }).ClickAsync(),
            Problem: FormError,
            ExpectNotDone: async (page, _) =>
            {
                await Expect(page.Locator(".form-note")).ToHaveCountAsync(0);
                await Expect(page.Locator(".my-alerts-form input[type=checkbox]").First).Not.ToBeCheckedAsync();
            },
            ExpectDone: (page, _) => Expect(page.Locator(".form-note")).ToHaveTextAsync("Your choices are saved."),
            Stored: (page, _) => Expect(page.Locator(".my-alerts-form input[type=checkbox]").First).Not.ToBeCheckedAsync()),
        ["unmerge"] = new(
            Issue,
            Prepare: async (page, _) =>
            {
                // Merged first (the store answering): the issue page of the issue merged into lists it, with its Unmerge.
                await page.Locator("select.merge-target").SelectOptionAsync(DashboardSeed.ProfileFingerprint);
                await page.Locator("button.action-merge").ClickAsync();
                await Expect(page).ToHaveURLAsync(new Regex($"/issues/{DashboardSeed.ProfileFingerprint}$"));
                await Expect(page.Locator(".merged-issue")).ToHaveCountAsync(1);
                await HungStoreDashboard.WaitForIssuePartsAsync(page);
            },
            Make: (page, _) => page.Locator("button.action-unmerge").ClickAsync(),
            Problem: page => page.Locator(".unmerge-problem"),
            ExpectNotDone: (page, _) => Expect(page.Locator(".merged-issue")).ToHaveCountAsync(1),
            ExpectDone: async (page, _) =>
            {
                await Expect(page.Locator(".merged-none")).ToBeVisibleAsync();
                await Expect(page.Locator(".unmerge-problem")).ToHaveCountAsync(0);
            },
            Stored: (page, _) => Expect(page.Locator(".merged-none")).ToBeVisibleAsync()),
    };

    private static Task NoPreparation(IPage page, Subject subject) => Task.CompletedTask;

    private static ILocator FormError(IPage page) => page.Locator(".form-error");

    /// <summary>The settings page's problem line in the section of the control that failed (beside it, not at the top of the page).</summary>
    private static Func<IPage, ILocator> SettingsProblem(string sectionHeading) =>
        page => page.Locator($"section[aria-labelledby='{sectionHeading}'] .form-error");

    private static ILocator RoleBox(IPage page, Subject subject) =>
        page.Locator(".users-table tr", new() { HasText = subject.Email }).Locator(".rz-dropdown");

    private static async Task ConfirmAsync(IPage page, string button, string confirm)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = button }).ClickAsync();
        var dialog = page.Locator("[role=alertdialog], [role=dialog]").First;
        await dialog.GetByRole(AriaRole.Button, new() { Name = confirm, Exact = true }).ClickAsync();
    }

    /// <summary>Chooses an item of a Radzen drop-down as a person does: opens it, clicks the item.</summary>
    private static async Task ChooseAsync(IPage page, ILocator dropDown, string item)
    {
        await dropDown.ClickAsync();
        await page.Locator(".rz-dropdown-item:visible", new() { HasText = item }).ClickAsync();
    }

    private sealed class Subject(int projectId, string projectName, string email)
    {
        public int ProjectId { get; } = projectId;
        public string ProjectName { get; } = projectName;
        public string Email { get; } = email;
        public Guid UserId { get; set; }
    }

    /// <summary>Where a change is made, and what shows that the live page has read the store.</summary>
    private sealed record ChangePage(Func<Subject, string> Path, Func<IPage, Subject, ILocator[]> Loaded);

    private sealed record SettingsChange(
        ChangePage On,
        Func<IPage, Subject, Task> Prepare,
        Func<IPage, Subject, Task> Make,
        Func<IPage, ILocator> Problem,
        Func<IPage, Subject, Task> ExpectNotDone,
        Func<IPage, Subject, Task> ExpectDone,
        Func<IPage, Subject, Task>? Stored = null,
        bool IsMember = false)
    {
        public string Path(Subject subject) => On.Path(subject);

        public ILocator[] Loaded(IPage page, Subject subject) => On.Loaded(page, subject);
    }
}
