using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 14 (version 15 is current, and groups these events alike), and what its events carry as legacy fingerprints: a failure with no frame of
/// the app's code, in a request whose handler is a library's method in the stack, is keyed by that handler. The frames are those the SDK sent
/// from the Razor Pages template with Identity (<c>dotnet new webapp --auth Individual</c>), deployed without its database's tables: the
/// sign-in and the registration pages, both the Identity UI package's, failed on the same missing table. Issues are keyed by these values:
/// if one of these tests fails, a rule changed and existing issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV14Tests
{
    private const string Pages = "Microsoft.AspNetCore.Identity.UI.V5.Pages.Account.Internal.";

    [Fact]
    public void Grouping_version_is_15_and_follows_version_13()
    {
        GroupingRules.V14.Version.Should().Be(14);
        GroupingRules.V14.Previous.Should().BeSameAs(GroupingRules.V13);
    }

    [Fact]
    public void Two_identity_pages_failing_on_one_missing_table_are_each_their_pages_issue_and_carry_version_13s_fingerprint()
    {
        var signIn = IdentityPage("POST /Identity/Account/Login", "LoginModel", "OnPostAsync", "SignInManager", "PasswordSignInAsync");
        var register = IdentityPage("POST /Identity/Account/Register", "RegisterModel", "OnPostAsync", "UserManager", "CreateAsync");

        var grouped = Grouper.Group(signIn);

        Grouper.Counted(grouped.Components).Should().Equal("type:SqliteException", "throw:SqliteCommand", "app:" + Pages + "LoginModel.OnPostAsync");
        grouped.Components.Should().Contain(new GroupingComponent(GroupingComponent.Endpoint, "POST /Identity/Account/Login", Counts: false));
        grouped.Culprit.Should().Be(Pages + "LoginModel.OnPostAsync", "the page the request ran, not SqliteCommand.PrepareAndEnumerateStatements");
        grouped.Fingerprint.Should().Be("d2e02fe58540053057294eeeb1f7cd94");
        Grouper.Group(register).Fingerprint.Should().NotBe(grouped.Fingerprint, "two pages failing are two issues, as two of the app's own pages are");
        Grouper.Group(IdentityPage("POST /Identity/Account/Login", "LoginModel", "OnPostAsync", "SignInManager", "PasswordSignInAsync")).Fingerprint
            .Should().Be(grouped.Fingerprint, "twice one issue");

        // Version 13 keyed both by the type and SQLite's throw site: one issue, which keeps receiving its events.
        Grouper.Group(signIn, GroupingRules.V13).Fingerprint.Should().Be(Grouper.Group(register, GroupingRules.V13).Fingerprint, "version 13's one issue");
        GroupingRules.V14.MayDifferFromPrevious(signIn).Should().BeTrue();
        grouped.LegacyFingerprint.Should().Be(Grouper.Group(signIn, GroupingRules.V13).Fingerprint, "version 13's issue keeps receiving its events");
    }

    [Fact]
    public void A_library_handler_in_the_compilers_names_is_keyed_as_in_the_sdks_normalized_ones()
    {
        var raw = IdentityPage("POST /Identity/Account/Login", "LoginModel`1+<OnPostAsync>d__11", "MoveNext", "SignInManager`1+<PasswordSignInAsync>d__41", "MoveNext");

        Grouper.Counted(Grouper.Group(raw).Components).Should().Equal("type:SqliteException", "throw:SqliteCommand", "app:" + Pages + "LoginModel.OnPostAsync");
    }

    [Fact]
    public void An_app_frame_a_handler_not_in_the_stack_or_no_handler_tag_groups_as_version_13_and_computes_no_older_version()
    {
        // The app's own page model calling the same store: its frame is the key, as before.
        var ownPage = Event(Exception("Microsoft.Data.Sqlite.SqliteException", "SQLite Error 1: 'no such table: Orders'.",
            Framework("Microsoft.Data.Sqlite.SqliteCommand", "PrepareAndEnumerateStatements"),
            InApp("Shop.Pages.OrdersModel", "OnGetAsync"),
            Framework("Microsoft.AspNetCore.Mvc.RazorPages.Infrastructure.PageActionInvoker", "InvokeHandlerMethodAsync"))) with
        {
            Tags = new Dictionary<string, string> { ["route"] = "GET /Orders", ["handler"] = "Shop.Pages.OrdersModel.OnGetAsync" },
        };
        // The handler never ran: the failure was in a middleware before the endpoint (the cookie's user lookup).
        var page = IdentityPage("POST /Identity/Account/Login", "LoginModel", "OnPostAsync", "SignInManager", "PasswordSignInAsync");
        var beforeHandler = page with
        {
            Exceptions = [page.Exceptions[0] with { Frames = [.. page.Exceptions[0].Frames.Where(f => f.Type?.Contains("LoginModel", StringComparison.Ordinal) != true)] }],
        };
        var untagged = IdentityPage("POST /Identity/Account/Login", "LoginModel", "OnPostAsync", "SignInManager", "PasswordSignInAsync") with
        {
            Tags = new Dictionary<string, string> { ["route"] = "POST /Identity/Account/Login" },
        };

        foreach (var incoming in new[] { ownPage, beforeHandler, untagged })
        {
            GroupingRules.V14.MayDifferFromPrevious(incoming).Should().BeFalse();
            Grouper.Group(incoming).Fingerprint.Should().Be(Grouper.Group(incoming, GroupingRules.V13).Fingerprint);
        }

        Grouper.Counted(Grouper.Group(ownPage).Components).Should().Equal("type:SqliteException", "throw:SqliteCommand", "app:Shop.Pages.OrdersModel.OnGetAsync");
    }

    /// <summary>
    /// An Identity UI page's handler failing on a missing table (EF Core's query under Identity's manager), as the SDK sent it from the template
    /// app: its frames (the Razor Pages invoker's and the middleware's trimmed to a few) and the request's route and handler tags.
    /// </summary>
    private static IncomingEvent IdentityPage(string route, string page, string handler, string manager, string managerMethod) =>
        Event(Exception("Microsoft.Data.Sqlite.SqliteException", "SQLite Error 1: 'no such table: AspNetUsers'.",
            Framework("Microsoft.Data.Sqlite.SqliteException", "ThrowExceptionForRC"),
            Framework("Microsoft.Data.Sqlite.SqliteCommand", "PrepareAndEnumerateStatements"),
            Framework("Microsoft.Data.Sqlite.SqliteCommand", "GetStatements"),
            Framework("Microsoft.Data.Sqlite.SqliteDataReader", "NextResult"),
            Framework("Microsoft.Data.Sqlite.SqliteCommand", "ExecuteReaderAsync"),
            Framework("Microsoft.EntityFrameworkCore.Storage.RelationalCommand", "ExecuteReaderAsync"),
            Framework("Microsoft.EntityFrameworkCore.Query.ShapedQueryCompilingExpressionVisitor", "SingleOrDefaultAsync"),
            Framework("Microsoft.AspNetCore.Identity.UserManager", "FindByNameAsync"),
            Framework("Microsoft.AspNetCore.Identity." + manager, managerMethod),
            Framework(Pages + page, handler),
            Framework("Microsoft.AspNetCore.Mvc.RazorPages.Infrastructure.ExecutorFactory.GenericTaskHandlerMethod", "Execute"),
            Framework("Microsoft.AspNetCore.Mvc.RazorPages.Infrastructure.PageActionInvoker", "InvokeHandlerMethodAsync"),
            Framework("Microsoft.AspNetCore.Mvc.Infrastructure.ResourceInvoker", "InvokeAsync.Awaited"),
            Framework("Microsoft.AspNetCore.Authorization.AuthorizationMiddleware", "Invoke"),
            Framework("ErrorHub.AspNetCore.ErrorHubMiddleware", "AwaitAsync"))) with
        {
            Tags = new Dictionary<string, string>
            {
                ["route"] = route,
                ["endpoint"] = route.Split(' ')[1].Replace("/Identity", "", StringComparison.Ordinal),
                ["http.method"] = "POST",
                ["handler"] = Pages + route.Split('/')[^1] + "Model." + "OnPostAsync",
            },
        };
}
