using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>The projects the pages under test show, relative to the tests' fixed clock.</summary>
internal static class TestProjects
{
    public static readonly Project Shop = new(1, "Web shop", "shop-public-key", DashboardTestContext.Now.AddDays(-30));
    public static readonly Project Worker = new(2, "Billing worker", "worker-public-key", DashboardTestContext.Now.AddDays(-2));
}
