using Xunit;

namespace ErrorHub.SystemTests.Browser;

/// <summary>Browser and crawl tests share one dashboard process and one browser.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardTestGroup : ICollectionFixture<DashboardFixture>, ICollectionFixture<BrowserFixture>
{
    public const string Name = "Dashboard";
}
