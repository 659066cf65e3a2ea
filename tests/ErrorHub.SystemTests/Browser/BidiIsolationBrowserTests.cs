using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// Text from other people's apps (titles, culprits, frames, releases, breadcrumbs, request fields, tags) and from other
/// accounts (project and account names) holding bidi controls: U+202E reverses what follows it, an unclosed U+2067 turns
/// the rest of its line right to left. Shown by the dashboard, such text may reorder only itself; the dashboard's own
/// words and numbers beside it still read left to right, as chromium lays them out.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class BidiIsolationBrowserTests(BrowserFixture browser)
{
    private const int ProjectId = 7;
    private const string Override = "\u202E";
    private const string RightToLeftIsolate = "\u2067";
    private static readonly string IssueFingerprint = TestEvents.Fingerprint("bidi-order");
    private static readonly string ProjectName = "Mirror" + Override + " shop";
    private static readonly string MemberName = "Eve" + RightToLeftIsolate + " Tricks";
    private const string MemberEmail = "eve@example.com";

    /// <summary>
    /// For every text node the dashboard wrote itself (no bidi control in it), its ASCII letters and digits in document
    /// order must go left to right wherever two of them share a line of the same block: an override or isolate leaking out
    /// of user text reverses them. Returns those that do not, and how many user texts (with a control) the page shows.
    /// </summary>
    private const string ReadingOrderScript = """
        () => {
          const control = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
          const letter = /[A-Za-z0-9]/;
          const blockOf = element => {
            while (element && ['inline', 'contents'].includes(getComputedStyle(element).display)) element = element.parentElement;
            return element;
          };
          const letters = [];
          let userTexts = 0;
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let node; (node = walker.nextNode());) {
            const parent = node.parentElement;
            if (!parent || parent.closest('script, style, template, select, textarea, .rzi')) continue;
            if (control.test(node.data)) { userTexts++; continue; }
            const block = blockOf(parent);
            const range = document.createRange();
            for (let i = 0; i < node.data.length; i++) {
              if (!letter.test(node.data[i])) continue;
              range.setStart(node, i);
              range.setEnd(node, i + 1);
              const box = range.getBoundingClientRect();
              if (box.width > 0 && box.height > 0) letters.push({ block, box, text: node.data.trim() });
            }
          }
          const reversed = new Set();
          for (let k = 1; k < letters.length; k++) {
            const [a, b] = [letters[k - 1], letters[k]];
            const sameLine = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top) > Math.min(a.box.height, b.box.height) / 2;
            if (a.block === b.block && sameLine && b.box.left < a.box.left - 0.5) reversed.add(b.text);
          }
          return { userTexts, reversed: [...reversed] };
        }
        """;

    [Fact]
    public async Task Bidi_controls_in_user_text_reorder_no_word_or_number_of_the_dashboard_on_any_page()
    {
        var dashboard = new DashboardFixture();
        await dashboard.InitializeAsync();
        var page = await browser.NewPageAsync();
        try
        {
            await SeedAsync(dashboard);
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, "projects");

            var search = Uri.EscapeDataString("culprit:" + Override + "Order");
            // Each page, and a text it shows once its data is in.
            (string Path, string Shows)[] pages =
            [
                (InProject("issues"), "Assigned to"),
                (InProject($"issues?q={search}"), "The search is plain text"),
                (InProject($"issues/{IssueFingerprint}"), "Breadcrumbs"),
                (InProject("releases"), "shop@"),
                (InProject("settings"), MemberEmail),
                (InProject("alerts"), "Mirror"),
                ("users", MemberEmail),
            ];

            var problems = new List<string>();
            foreach (var (path, shows) in pages)
            {
                await page.GotoAsync(dashboard.Url(path).ToString());
                await BrowserSignIn.WaitUntilInteractiveAsync(page);
                await Expect(page.Locator("main.dashboard-main")).ToContainTextAsync(shows, new() { Timeout = 30_000 });
                var result = await page.EvaluateAsync<System.Text.Json.JsonElement>(ReadingOrderScript);
                result.GetProperty("userTexts").GetInt32().Should().BePositive($"{path} shows the hostile texts, so the check is not empty");
                problems.AddRange(result.GetProperty("reversed").EnumerateArray().Select(text => $"{path}: \"{text.GetString()}\""));
                if (await page.TitleAsync() is var title && title.IndexOfAny([Override[0], RightToLeftIsolate[0]]) >= 0)
                {
                    problems.Add($"{path}: the tab's title \"{title}\" holds the controls themselves, not spaces in an isolate of their own");
                }
            }

            problems.Should().BeEmpty("the dashboard's own text reads left to right beside user text with bidi controls, and the tab's title shows none");
        }
        finally
        {
            await page.Context.CloseAsync();
            await dashboard.DisposeAsync();
        }
    }

    private static string InProject(string rest) => $"projects/{ProjectId}/{rest}";

    private static Task SeedAsync(DashboardFixture dashboard) => dashboard.WriteAsync(async services =>
    {
        var now = DateTimeOffset.UtcNow;
        await services.GetRequiredService<IProjectStore>().UpsertProjectAsync(new Project(ProjectId, ProjectName, "bidi-public-key", now.AddDays(-1)));
        var access = services.GetRequiredService<IAccessStore>();
        var member = new UserAccount(Guid.NewGuid(), MemberEmail, MemberName, "", UserRole.Member, Guid.NewGuid().ToString("N"), now);
        await access.CreateUserAsync(member with { PasswordHash = new PasswordHasher<UserAccount>().HashPassword(member, "member password 456") });
        await access.AddMemberAsync(ProjectId, member.Id);

        var hostile = TestEvents.Create(
            ProjectId,
            IssueFingerprint,
            now.AddMinutes(-5),
            new UserRecord("u-" + Override + "42", "eve" + Override, "eve" + Override + "@example.com", null),
            title: "OrderException: order " + Override + "12 failed",
            culprit: "Shop.Orders.Checkout" + Override + "Service.Place" + RightToLeftIsolate + "Async",
            message: "Order " + Override + "12 failed") with
        {
            Release = "shop@" + Override + "2.4",
            Environment = "prod" + RightToLeftIsolate,
            Breadcrumbs =
            [
                new BreadcrumbRecord(now.AddMinutes(-6), "info", "http" + Override, "GET /cart" + Override + " 200"),
                new BreadcrumbRecord(now.AddMinutes(-5.5), "warning", "db" + RightToLeftIsolate, "slow query" + RightToLeftIsolate),
            ],
            Request = new RequestRecord("POST", "https://shop.example/orders/" + Override + "12", "coupon=" + Override + "X", new Dictionary<string, string> { ["X-Trace" + Override] = "abc" + Override + "def" }),
            Tags = new Dictionary<string, string> { ["region" + Override] = "eu" + RightToLeftIsolate + "west" },
        };
        await services.GetRequiredService<IEventWriter>().InsertEventsAsync([hostile, hostile with { EventId = Guid.NewGuid(), Timestamp = now.AddMinutes(-4), ReceivedAt = now.AddMinutes(-4) }]);
        await services.GetRequiredService<IIssueStates>().SetStateAsync(new IssueState(ProjectId, IssueFingerprint, IssueStatus.Unresolved, now) { AssigneeId = member.Id });
    });
}
