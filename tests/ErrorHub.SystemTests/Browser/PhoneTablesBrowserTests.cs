using ErrorHub.Storage;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// The dashboard's tables on a 390 px phone: each row is a card whose values and actions are all in view, instead of a
/// table that scrolls sideways inside its box and hides a count, a key or a button past the edge.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class PhoneTablesBrowserTests(DashboardFixture dashboard, BrowserFixture browser)
{
    private const string InvitedEmail = "phone-invitee@example.com";

    [Theory]
    [InlineData("projects", ".projects-table", "a.manage-link")]
    [InlineData("invitations", ".invitations-table", "button:has-text('Revoke')")]
    [InlineData("keys", ".keys-table", "button:has-text('Revoke')")]
    [InlineData("alert rules", ".rules-table", "button:has-text('Remove')")]
    [InlineData("notification history", ".notification-history", "td:nth-child(5)")]
    [InlineData("issue events", ".events-table", "td:nth-child(4)")]
    [InlineData("affected users", ".users-table", "td.col-number")]
    public async Task On_a_390_px_phone_each_row_shows_all_its_values_and_actions_without_scrolling_sideways(string table, string tableSelector, string lastCell)
    {
        var path = await PrepareAsync(table);
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard);
            await page.SetViewportSizeAsync(390, 844);
            await page.GotoAsync(dashboard.Url(path).ToString());
            // The server-rendered rows are replaced once the page turns interactive; a cell measured before then is gone.
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            var row = page.Locator($"{tableSelector} tbody tr").First;
            await Expect(row).ToBeVisibleAsync();

            // Until December 2026 these tables kept their columns and scrolled inside their box: the last ones (a count,
            // a key's Revoke, a rule's Remove) were past the right edge of the phone.
            var hidden = await page.EvaluateAsync<string[]>(
                """
                selector => [...document.querySelectorAll(`${selector} tbody td`)]
                  .filter(cell => cell.getBoundingClientRect().right > window.innerWidth + 1)
                  .map(cell => `${cell.className} '${cell.textContent.trim().slice(0, 40)}' reaches ${Math.round(cell.getBoundingClientRect().right)} px`)
                  .slice(0, 5)
                """,
                tableSelector);
            hidden.Should().BeEmpty($"on a phone every row of the {table} should be in view, not past the right edge of a table that scrolls sideways");

            await row.ScrollIntoViewIfNeededAsync();
            await Expect(row.Locator(lastCell).First).ToBeInViewportAsync();
            (await page.Locator(tableSelector).EvaluateAsync<int>("table => { const box = table.parentElement.closest('.table-scroll') ?? table; return box.scrollWidth - box.clientWidth; }"))
                .Should().BeLessThanOrEqualTo(1, "nothing is left to scroll to sideways");

            // Without the header row in view, a value that is not self-evident says what it is.
            var unlabelled = await page.EvaluateAsync<int>(
                "selector => [...document.querySelectorAll(`${selector} tbody td[data-label]`)].filter(cell => getComputedStyle(cell, '::before').content === 'none').length",
                tableSelector);
            unlabelled.Should().Be(0);
            (await page.Locator($"{tableSelector} tbody td[data-label]").CountAsync()).Should().BePositive("the values of the cards say what they are");
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty();
    }

    private async Task<string> PrepareAsync(string table)
    {
        switch (table)
        {
            case "projects":
                return "";
            case "invitations":
                await dashboard.WriteAsync(async store =>
                {
                    var access = store.GetRequiredService<IAccessStore>();
                    if ((await access.FindUserByEmailAsync(DashboardSeed.AdminEmail)) is not { } admin)
                    {
                        throw new InvalidOperationException("The seeded admin is missing.");
                    }

                    var open = await access.GetInvitationsAsync();
                    if (!open.Any(invitation => invitation.Email == InvitedEmail && invitation.RevokedAt is null && invitation.AcceptedAt is null))
                    {
                        await access.CreateInvitationAsync(new Invitation(Guid.NewGuid(), Convert.ToHexString(Guid.NewGuid().ToByteArray()), InvitedEmail, UserRole.Member, [DashboardSeed.Worker.Id], admin.Id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(7)));
                    }
                });
                return "users";
            case "keys":
                return "projects/1/settings";
            case "alert rules":
                return "projects/1/alerts";
            case "notification history":
                await dashboard.WriteAsync(async store =>
                {
                    var outbox = store.GetRequiredService<INotificationStore>();
                    if ((await outbox.GetNotificationsAsync(DashboardSeed.Worker.Id, 1)).Count == 0)
                    {
                        await outbox.AddNotificationAsync(new Notification(Guid.NewGuid(), DashboardSeed.Worker.Id, "phone:test", "phone:test", "test", DateTimeOffset.UtcNow)
                        {
                            Recipients = ["oncall-with-a-long-address@example.com"],
                            Subject = "[Billing worker/production] New issue: TimeoutException in Worker.Poll after 30 seconds",
                            Attempts = 2,
                            LastError = "SocketException: Connection refused",
                        });
                    }
                });
                return $"projects/{DashboardSeed.Worker.Id}/alerts";
            default:
                return $"projects/1/issues/{DashboardSeed.CheckoutFingerprint}";
        }
    }
}
