using System.Security.Cryptography;
using System.Text;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Protocol;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 8 and what its events carry as legacy
/// fingerprints. Issues are keyed by these values: if one of these tests fails, a rule changed and
/// existing issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV8Tests
{
    [Fact]
    public void Grouping_version_8_follows_version_7()
    {
        GroupingRules.V8.Version.Should().Be(8);
        GroupingRules.V8.Previous.Should().BeSameAs(GroupingRules.V7);
    }

    [Fact]
    public void An_apps_own_code_under_a_microsoft_namespace_that_is_no_product_is_its_app_frame()
    {
        var grouped = Grouper.Group(CatalogOutage("503 (Service Unavailable)"), GroupingRules.V8);

        Grouper.Counted(grouped.Components).Should().Equal(
            "type:HttpRequestException", "throw:HttpResponseMessage", "app:Microsoft.eShopOnContainers.WebMVC.Services.CatalogService.GetCatalogItems", "status:5xx");
        grouped.Fingerprint.Should().Be("f99953f713a5b435111d02bf9b5bfee9");
        grouped.Culprit.Should().Be("Microsoft.eShopOnContainers.WebMVC.Services.CatalogService.GetCatalogItems");
        Grouper.Counted(Grouper.Group(CatalogOutage("503 (Service Unavailable)"), GroupingRules.V7).Components)
            .Should().Equal("type:HttpRequestException", "throw:HttpResponseMessage", "status:5xx");
    }

    [Fact]
    public void Two_calls_of_an_app_under_a_microsoft_namespace_answered_5xx_are_two_issues_where_version_7_made_one()
    {
        var catalog = CatalogOutage("500 (Internal Server Error)");
        var basket = CatalogOutage("500 (Internal Server Error)", app: "Microsoft.eShopOnContainers.WebMVC.Services.BasketService");

        Grouper.Group(catalog, GroupingRules.V8).Fingerprint.Should().NotBe(Grouper.Group(basket, GroupingRules.V8).Fingerprint);
        Grouper.Group(catalog, GroupingRules.V7).Fingerprint.Should().Be(Grouper.Group(basket, GroupingRules.V7).Fingerprint,
            "version 7 read every Microsoft namespace as framework code, so no app frame told the two calls apart");
    }

    [Fact]
    public void Microsofts_products_stay_framework_code_unless_the_client_marked_them_in_app()
    {
        // The SDK marks none of the listed products in-app by itself; the app's InAppInclude can (PowerShell's own code in PowerShell).
        var module = Event(Exception("System.InvalidOperationException", "Collection was modified; enumeration operation may not execute.",
            Framework("System.Collections.Generic.List`1+Enumerator", "MoveNextRare"),
            Framework("Microsoft.PowerShell.Commands.ModuleCmdletBase", "LoadModuleManifest"),
            InApp("Pode.Server", "Start")));
        var included = Event(Exception("System.NullReferenceException", "Object reference not set to an instance of an object.",
            InApp("Microsoft.PowerShell.PSConsoleReadLine", "InvokePrompt")));

        Grouper.Counted(Grouper.Group(module, GroupingRules.V8).Components).Should().Equal("type:InvalidOperationException", "app:Pode.Server.Start");
        Grouper.Group(module, GroupingRules.V8).Fingerprint.Should().Be(Grouper.Group(module, GroupingRules.V7).Fingerprint);
        Grouper.Counted(Grouper.Group(included, GroupingRules.V8).Components).Should().Equal("type:NullReferenceException", "app:Microsoft.PowerShell.PSConsoleReadLine.InvokePrompt");
        Grouper.Counted(Grouper.Group(included, GroupingRules.V7).Components).Should().Equal("type:NullReferenceException", "throw:PSConsoleReadLine.InvokePrompt");
    }

    [Fact]
    public void An_exception_type_under_a_microsoft_namespace_that_is_no_product_counts_in_full_a_products_by_its_short_name()
    {
        var appType = Event(Exception("Microsoft.Alm.Authentication.AuthenticationException", "Logon failed.",
            InApp("Microsoft.Alm.Cli.Program", "Get")));
        var productType = Event(Exception("Microsoft.Data.SqlClient.SqlException", "Login failed for user 'shop'.",
            Framework("Microsoft.Data.SqlClient.SqlConnection", "OnError"),
            InApp("Shop.Orders.OrderRepository", "LoadAsync")));

        Grouper.Counted(Grouper.Group(appType, GroupingRules.V8).Components).Should().Equal(
            "type:Microsoft.Alm.Authentication.AuthenticationException", "app:Microsoft.Alm.Cli.Program.Get");
        Grouper.Counted(Grouper.Group(productType, GroupingRules.V8).Components).Should().Equal("type:SqlException", "throw:SqlConnection", "app:Shop.Orders.OrderRepository.LoadAsync");
        Grouper.Group(productType, GroupingRules.V8).Fingerprint.Should().Be(Grouper.Group(productType, GroupingRules.V7).Fingerprint);
    }

    [Fact]
    public void An_event_version_8_groups_otherwise_carries_every_older_versions_fingerprint_newest_first()
    {
        var changed = CatalogOutage("503 (Service Unavailable)");
        var grouped = Grouper.Group(changed, GroupingRules.V8);
        var versionSeven = Grouper.Group(changed, GroupingRules.V7).Fingerprint;

        GroupingRules.V8.MayDifferFromPrevious(changed).Should().BeTrue();
        versionSeven.Should().NotBe(grouped.Fingerprint);
        grouped.LegacyFingerprint.Should().Be(versionSeven, "version 7's issue keeps the event: the upgrade splits no issue");
        grouped.EarlierLegacyFingerprints.Should().Equal(
            [Grouper.Group(changed, GroupingRules.V4).Fingerprint, GroupingV1.Fingerprint(changed)], "version 4 counted no HTTP status, and version 1 grouped otherwise");
    }

    [Fact]
    public void A_message_loop_under_a_microsoft_namespace_that_is_no_product_is_no_framework_loop_and_the_event_carries_version_7s_fingerprint()
    {
        // Version 6's rule passes over a Main that only started a framework's message loop; under an app's own Microsoft namespace
        // there is no framework loop, so Main is the app frame, even though the loop's frame is not marked in-app.
        var loop = Event(Exception("System.ComponentModel.Win32Exception", "Error creating window handle.",
            Framework("System.Windows.Forms.NativeWindow", "CreateHandle"),
            Framework("Microsoft.Contoso.Shell.Application", "Run"),
            InApp("Contoso.Desktop.Program", "Main")));
        var grouped = Grouper.Group(loop, GroupingRules.V8);

        Grouper.Counted(grouped.Components).Should().Equal("type:Win32Exception", "throw:NativeWindow", "app:Contoso.Desktop.Program.Main");
        Grouper.Counted(Grouper.Group(loop, GroupingRules.V7).Components).Should().NotContain(c => c.StartsWith("app:", StringComparison.Ordinal));
        GroupingRules.V8.MayDifferFromPrevious(loop).Should().BeTrue();
        grouped.LegacyFingerprint.Should().Be(Grouper.Group(loop, GroupingRules.V7).Fingerprint);
    }

    [Fact]
    public void Events_without_a_microsoft_namespace_version_8_reads_otherwise_do_not_compute_version_7_again()
    {
        var aspNetCore = Checkout();
        var unmarkedProduct = Event(Exception("System.InvalidOperationException", "No service for type 'Shop.IClock' has been registered.",
            Framework("Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions", "GetRequiredService"),
            InApp("Shop.Startup", "Configure")));

        foreach (var unchanged in new[] { aspNetCore, unmarkedProduct })
        {
            GroupingRules.V8.MayDifferFromPrevious(unchanged).Should().BeFalse();
            Grouper.Group(unchanged, GroupingRules.V8).Fingerprint.Should().Be(Grouper.Group(unchanged, GroupingRules.V7).Fingerprint);
        }
    }

    [Theory]
    [InlineData("Microsoft.AspNetCore.Routing.EndpointMiddleware", true, true)]
    [InlineData("Microsoft.EntityFrameworkCore.DbContext", true, true)]
    [InlineData("Microsoft.NET.Build.Tasks.ResolvePackageAssets", true, true)]
    [InlineData("Microsoft.Win32.Registry", true, true)]
    [InlineData("Microsoft.PowerShell.PSConsoleReadLine", true, true)]
    [InlineData("Microsoft.Xna.Framework.Game", true, true)]
    [InlineData("Microsoft.CSharp", true, true)]
    [InlineData("Microsoft", true, true)]
    [InlineData("Microsoft.eShopOnContainers.WebMVC.Services.CatalogService", true, false)]
    [InlineData("Microsoft.Alm.Git.Where", true, false)]
    [InlineData("Microsoft.PowerToys.Settings.UI.App", true, false)]
    [InlineData("Microsoft.Plugin.Program.Programs.UWPApplication+<>c__DisplayClass64_0", true, false)]
    [InlineData("MicrosoftGraphHelper.Client", false, false)]
    [InlineData("Shop.Microsoft.Adapter", false, false)]
    public void A_microsoft_namespace_is_a_product_only_when_its_second_segment_is_listed(string typeName, bool isMicrosoft, bool isProduct)
    {
        MicrosoftProducts.Classify(typeName).Should().Be((isMicrosoft, isProduct));
    }

    [Fact]
    public void The_list_of_microsofts_products_is_frozen_with_version_8()
    {
        // Version 8 reads this list: an edit would move events between issues. A later version adds roots through its own namespaces.
        var listed = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', MicrosoftProducts.Roots))));

        MicrosoftProducts.Roots.Should().OnlyHaveUniqueItems();
        listed.Should().Be("8bad49cf4b7c447f43246281c4cb03584730c9ec483e323423deabe916692967");
    }

    private static IncomingEvent CatalogOutage(string status, string app = "Microsoft.eShopOnContainers.WebMVC.Services.CatalogService") => Event(Exception(
        "System.Net.Http.HttpRequestException", $"Response status code does not indicate success: {status}.",
        Framework("System.Net.Http.HttpResponseMessage", "EnsureSuccessStatusCode"),
        Framework("System.Net.Http.HttpClient", "GetStringAsyncCore"),
        InApp(app, app.EndsWith("BasketService", StringComparison.Ordinal) ? "GetBasket" : "GetCatalogItems"),
        InApp("Microsoft.eShopOnContainers.WebMVC.Controllers.CatalogController", "Index"),
        Framework("Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor+TaskOfIActionResultExecutor", "Execute")));
}
