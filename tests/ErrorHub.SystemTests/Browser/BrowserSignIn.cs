using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>Signing in through the login page, as a person does: the form, then the page they asked for.</summary>
internal static class BrowserSignIn
{
    public static async Task SignInAsync(IPage page, DashboardFixture dashboard, string email, string password, string then = "")
    {
        await page.GotoAsync(dashboard.Url("login?returnUrl=" + Uri.EscapeDataString("/" + then)).ToString());
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(dashboard.Url(then).ToString());
    }

    public static Task SignInAsAdminAsync(IPage page, DashboardFixture dashboard, string then = "") =>
        SignInAsync(page, dashboard, DashboardSeed.AdminEmail, DashboardSeed.AdminPassword, then);

    public static Task SignInAsMemberAsync(IPage page, DashboardFixture dashboard, string then = "") =>
        SignInAsync(page, dashboard, DashboardSeed.MemberEmail, DashboardSeed.MemberPassword, then);

    public static async Task WaitUntilInteractiveAsync(IPage page) =>
        await Expect(page.Locator("main.dashboard-main")).ToHaveAttributeAsync("data-interactive", "true");
}
