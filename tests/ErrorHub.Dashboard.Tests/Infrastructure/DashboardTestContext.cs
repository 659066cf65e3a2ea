using System.Security.Claims;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Components.Layout;
using ErrorHub.Storage;
using Microsoft.Extensions.DependencyInjection;
using Radzen;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>
/// A bUnit context set up as the dashboard's Program.cs sets up its services: Radzen's services, and a
/// clock fixed at <see cref="Now"/> so that relative times ("3 minutes ago") are known in advance.
/// </summary>
public abstract class DashboardTestContext : BunitContext
{
    public static readonly DateTimeOffset Now = new(2025, 6, 2, 12, 0, 0, TimeSpan.Zero);

    protected DashboardTestContext()
    {
        // Radzen's components call into their script (focus, popups, resize observers); bUnit runs none,
        // and none of what these tests check depends on an answer.
        JSInterop.Mode = JSRuntimeMode.Loose;

        // Pages load from a real SQLite file; on a busy machine that can take longer than bUnit's one
        // second default. Waiting ends as soon as the assertion holds, so passing tests are not slower.
        DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        Services.AddRadzenComponents();
        Services.AddSingleton<TimeProvider>(new FixedClock(Now));
        SignIn(TemporaryStore.Admin);
    }

    /// <summary>Renders pages for <paramref name="user"/>: the claims a signed-in cookie carries.</summary>
    protected void SignIn(UserAccount user)
    {
        var authorization = this.AddAuthorization();
        authorization.SetAuthorized(user.Name);
        authorization.SetRoles(user.Role == UserRole.Admin ? AccessClaims.AdminRole : AccessClaims.MemberRole);
        authorization.SetClaims(
            new Claim(ClaimTypes.NameIdentifier, user.Id.ToString("D")),
            new Claim(ClaimTypes.Email, user.Email),
            new Claim(AccessClaims.SecurityStampType, user.SecurityStamp));
    }

    /// <summary>
    /// Waits until each part of an issue page showing one event has read the store. The parts read on their own: a store that
    /// fails before one of them has read fails that first read, which shows the whole page's store error, not what a test checks.
    /// The parts whose first read shows nothing of its own (the triage's assignees, the chart, the merged issues) say
    /// aria-busy until then: waiting only for the others left their reads running when a test stopped the store.
    /// </summary>
    protected static void WaitUntilIssuePageRead(IRenderedComponent<StoreErrorBoundary> page)
    {
        page.WaitForAssertion(() => page.FindAll(".events-table tbody tr").Should().ContainSingle());
        page.WaitForAssertion(() => page.FindAll(".users-table").Should().ContainSingle());
        page.WaitForAssertion(() => page.FindAll(".breakdowns .breakdown").Should().NotBeEmpty());
        page.WaitForAssertion(() => page.FindAll(".triage-actions, .events-chart-section, .issue-merges").Should().HaveCount(3));
        page.WaitForAssertion(() => page.FindAll("[aria-busy='true']").Should().BeEmpty("every part has read the store"));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
