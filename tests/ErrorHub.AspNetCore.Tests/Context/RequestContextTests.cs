using ErrorHub.AspNetCore.Tests.Infrastructure;
using ErrorHub.AspNetCore.Tests.Reporting;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Context;

/// <summary>What an event says about the request beyond URL and headers: the route, the browser, the trace, the form.</summary>
public sealed class RequestContextTests
{
    [Fact]
    public async Task An_event_names_the_route_template_the_browser_and_the_OS()
    {
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub();
            pipeline.MapGet("/cart/{id}/checkout", (string id) => Shop.Checkout(id));
        });
        app.Http.DefaultRequestHeaders.TryAddWithoutValidation(
            "User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15");

        await app.GetAsync("/cart/42/checkout");

        var e = app.Events.Should().ContainSingle().Subject;
        e.Tags["route"].Should().Be("GET /cart/{id}/checkout");
        e.Tags["browser"].Should().Be("Safari 17.2");
        e.Tags["client_os"].Should().Be("macOS 10.15.7");
        e.Extra["process.uptime"].Should().MatchRegex(@"^\d+ s$");
        e.Tags.Should().NotContainKey("handler", "a lambda's compiler name is the same for every handler of an app");
    }

    [Fact]
    public async Task A_method_handler_is_named_as_its_frame_names_it_so_that_grouping_can_stand_it_in_where_it_was_inlined()
    {
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub();
            pipeline.MapGet("/stock/{sku}", StockHandlers.Reserve);
            pipeline.MapGet("/stock/{sku}/nested", StockHandlers.Nested.Count);
        });

        await app.GetAsync("/stock/summer-kit");
        await app.GetAsync("/stock/summer-kit/nested");

        app.Events.Select(e => e.Tags.TryGetValue("handler", out var handler) ? handler : null).Should().Equal(
            "ErrorHub.AspNetCore.Tests.Context.StockHandlers.Reserve", "ErrorHub.AspNetCore.Tests.Context.StockHandlers.Nested.Count");
    }

    [Fact]
    public async Task Form_fields_the_app_read_are_sent_with_sensitive_ones_filtered()
    {
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub();
            pipeline.MapPost("/signup", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync();
                return Shop.Checkout(form["plan"].ToString());
            });
        });

        using var response = await app.Http.PostAsync("/signup", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["email"] = "jane@example.com",
            ["plan"] = "pro",
            ["keyword"] = "shoes",
            ["newPassword"] = "hunter2-s3cr3t",
            ["card_number"] = "4111111111111111",
            ["__RequestVerificationToken"] = "csrf-s3cr3t",
        }));
        await app.GetAsync("/wait-for-the-signup-to-complete");

        var form = app.Events.Should().ContainSingle().Subject.Request!.Form;
        form["email"].Should().Be("jane@example.com");
        form["keyword"].Should().Be("shoes", "a word that merely contains 'key' is not a key");
        form["newPassword"].Should().Be("[Filtered]");
        form["card_number"].Should().Be("[Filtered]");
        form["__RequestVerificationToken"].Should().Be("[Filtered]");
        form.Values.Should().NotContain(v => v.Contains("s3cr3t") || v.Contains("4111"));
    }

    [Fact]
    public async Task Form_field_names_of_acronyms_and_digits_are_split_into_words_and_sensitive_ones_filtered()
    {
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub();
            pipeline.MapPost("/signup", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync();
                return Shop.Checkout(form["plan"].ToString());
            });
        });
        var fields = new List<KeyValuePair<string, string>>
        {
            new("plan", "pro"),
            new("APIKey", "acronym-s3cr3t"),
            new("XSRFToken", "acronym-s3cr3t"),
            new("OAuthToken", "acronym-s3cr3t"),
            new("Password2", "digit-s3cr3t"),
            new("pin1", "digit-s3cr3t"),
            new("KEYWORD", "SHOES"),
            new("passport", "P1234"),
            new("address2", "Flat 4"),
        };

        using var response = await app.Http.PostAsync("/signup", new FormUrlEncodedContent(fields));
        await app.GetAsync("/wait-for-the-signup-to-complete");

        var form = app.Events.Should().ContainSingle().Subject.Request!.Form;
        form.Values.Should().NotContain(v => v.Contains("s3cr3t"));
        form.Keys.Should().Contain(fields.Select(f => f.Key), "the form's first fields are kept ({0})", string.Join(" | ", form.Keys.Take(15)));
        foreach (var sensitive in fields.Take(6).Skip(1).Select(f => f.Key))
        {
            form[sensitive].Should().Be("[Filtered]", "{0} holds a sensitive word", sensitive);
        }

        form["KEYWORD"].Should().Be("SHOES", "one word that merely contains 'key' is not a key, in any case");
        form["passport"].Should().Be("P1234");
        form["address2"].Should().Be("Flat 4");
    }

    [Fact]
    public async Task A_user_provider_of_the_app_completes_the_user_from_its_own_store()
    {
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.Use(ReportingApp.SignInFromHeader);
                pipeline.UseErrorHub();
                pipeline.MapGet("/checkout", () => Shop.Checkout("holiday"));
            },
            services: services => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions
                .AddSingleton<IErrorHubUserProvider, CustomerDirectory>(services));

        await app.GetAsync("/checkout", user: "alice");

        app.Events.Should().ContainSingle().Which.User.Should().BeEquivalentTo(
            new { Id = "id-alice", Username = "alice", Email = "alice.customer@shop.example" });
    }

    private sealed class CustomerDirectory : IErrorHubUserProvider
    {
        public UserInfo? GetUser(UserInfo? fromContext) =>
            fromContext is null ? null : new UserInfo { Id = fromContext.Id, Username = fromContext.Username, Email = $"{fromContext.Username}.customer@shop.example" };
    }
}

internal static class StockHandlers
{
    public static string Reserve(string sku) => Shop.Checkout(sku);

    internal static class Nested
    {
        public static string Count(string sku) => Shop.Checkout(sku + "-nested");
    }
}
