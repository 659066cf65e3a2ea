using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Dashboard.Tests.Infrastructure.TestProjects;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>The issue list's saved searches menu and pinned default, over the real SQLite store.</summary>
public sealed class SavedSearchMenuTests : DashboardTestContext
{
    private readonly TemporaryStore _store = new();

    public SavedSearchMenuTests()
    {
        _store.AddTo(Services);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _store.Dispose();
        }
    }

    private string Address => Services.GetRequiredService<NavigationManager>().Uri;

    private async Task<IRenderedComponent<IssueList>> RenderAsync(string address)
    {
        await _store.SeedAsync([Shop], [Create(Shop.Id, Fingerprint("checkout"), Now.AddMinutes(-5))]);
        Services.GetRequiredService<NavigationManager>().NavigateTo(address);
        return Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, Shop.Id));
    }

    [Fact]
    public async Task The_menu_lists_recommended_shared_and_own_searches_as_links_and_marks_the_one_the_list_shows()
    {
        await _store.Store.Schema.EnsureSchemaAsync();
        await _store.Store.SavedSearches.CreateAsync(new SavedSearch(Guid.NewGuid(), Shop.Id, null, "Team <b>triage</b>", "status=regressed&environment=production", TemporaryStore.Admin.Id, Now));
        await _store.Store.SavedSearches.CreateAsync(new SavedSearch(Guid.NewGuid(), Shop.Id, Guid.NewGuid(), "Someone else's", "assigned=me", Guid.NewGuid(), Now));

        var cut = await RenderAsync("projects/1/issues?environment=production&status=regressed&page=2");
        cut.WaitForElement(".issue-count");

        cut.FindAll(".saved-search-group").Select(group => group.GetAttribute("data-visibility")).Should().Equal("recommended", "shared", "personal");
        var shared = cut.Find(".saved-search-group[data-visibility=shared] .saved-search-link");
        shared.TextContent.Should().Be("Team <b>triage</b>", "a name is text");
        shared.GetAttribute("href").Should().Be("projects/1/issues?status=regressed&environment=production");
        cut.Find(".saved-search.active .saved-search-link").TextContent.Should().Be("Team <b>triage</b>", "the list shows that search, on any page");
        cut.Find(".saved-search.active .saved-search-link").GetAttribute("aria-current").Should().Be("true");
        cut.Find(".saved-searches-summary").TextContent.Should().Contain("Team <b>triage</b>");
        cut.FindAll(".saved-search-link").Select(link => link.TextContent).Should().NotContain("Someone else's");
        cut.Find(".saved-search[data-id='recommended:unresolved'] .saved-search-link").GetAttribute("href")
            .Should().Be("projects/1/issues?status=unresolved", "the plain address would open a pinned search");
    }

    [Fact]
    public async Task Saving_keeps_the_list_as_it_is_and_a_member_saves_for_themselves_only()
    {
        var member = new UserAccount(Guid.NewGuid(), "dev@example.com", "Dev", "hash", UserRole.Member, "stamp", Now);
        await _store.Store.Schema.EnsureSchemaAsync();
        await _store.Store.Access.CreateUserAsync(member);
        await _store.Store.Access.AddMemberAsync(Shop.Id, member.Id);
        SignIn(member);
        var cut = await RenderAsync("projects/1/issues?q=is:ignored%20timeout&sort=events");
        cut.WaitForElement(".issue-count");

        cut.Find(".save-search").Click();
        cut.FindAll(".saved-search-visibility option").Select(option => option.GetAttribute("value")).Should().Equal(["personal"], "only admins share searches");
        cut.Find(".saved-search-form").Submit();
        cut.WaitForAssertion(() => cut.Find(".form-problem").TextContent.Should().Be("Name is required."));

        cut.Find(".saved-search-name").Input("Ignored timeouts");
        cut.Find(".saved-search-form").Submit();
        cut.WaitForAssertion(() => cut.Find(".saved-search-status").TextContent.Should().Be("Saved “Ignored timeouts”."));
        var saved = (await _store.Store.SavedSearches.GetSearchesAsync(Shop.Id, member.Id)).Should().ContainSingle().Subject;
        (saved.OwnerId, saved.Query).Should().Be((member.Id, "status=ignored&q=timeout&sort=events"));
        cut.Find(".saved-search.active .saved-search-link").TextContent.Should().Be("Ignored timeouts");

        cut.Find(".save-search").Click();
        cut.Find(".saved-search-name").Input("IGNORED TIMEOUTS");
        cut.Find(".saved-search-form").Submit();
        cut.WaitForAssertion(() => cut.Find(".form-problem").TextContent.Should().Contain("already of yours"));
    }

    [Fact]
    public async Task A_pinned_search_opens_when_the_list_is_opened_without_a_search_and_deleting_it_unpins_it()
    {
        await _store.Store.Schema.EnsureSchemaAsync();
        var mine = new SavedSearch(Guid.NewGuid(), Shop.Id, TemporaryStore.Admin.Id, "Mine", "bookmarked=me", TemporaryStore.Admin.Id, Now);
        await _store.Store.SavedSearches.CreateAsync(mine);
        await _store.Store.SavedSearches.SetPinAsync(Shop.Id, TemporaryStore.Admin.Id, mine.Id.ToString("D"), Now);

        await RenderAsync("projects/1/issues");
        Address.Should().EndWith("projects/1/issues?bookmarked=me");

        Services.GetRequiredService<NavigationManager>().NavigateTo("projects/1/issues?status=all");
        var explicitList = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, Shop.Id));
        explicitList.WaitForElement(".issue-count");
        Address.Should().EndWith("projects/1/issues?status=all", "a list asked for by its address stays");

        explicitList.Find(".saved-search[data-id='" + mine.Id.ToString("D") + "'] .saved-search-delete").Click();
        explicitList.WaitForAssertion(() => explicitList.Find(".saved-search-status").TextContent.Should().Be("Deleted “Mine”."));
        (await _store.Store.SavedSearches.GetPinAsync(Shop.Id, TemporaryStore.Admin.Id)).Should().BeNull();
        Services.GetRequiredService<NavigationManager>().NavigateTo("projects/1/issues");
        var plain = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, Shop.Id));
        plain.WaitForElement(".issue-count");
        Address.Should().EndWith("projects/1/issues");
    }
}
