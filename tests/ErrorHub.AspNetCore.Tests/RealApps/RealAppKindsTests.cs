using System.Net;
using System.Net.Http.Json;
using ErrorHub.RealApps;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// Each kind of app a .NET team ships, set up as its template does with ErrorHub placed as docs/sdk.md advises, against
/// a real ingest: every failure the app did not handle arrives exactly once, named by its route or hub method, with the
/// request and the signed-in user; what the app handled (a 400 of validation, a 409 it mapped, a HubException it meant
/// for the caller) arrives never; the SDK writes nothing into the app's log.
/// </summary>
[Collection(HangfireGlobals.Collection)]
public sealed class RealAppKindsTests
{
    [Fact]
    public async Task Mvc_reports_action_filter_and_view_failures_once_each_and_not_validation_400s()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Mvc);

        var invalid = await run.SendAsync(HttpMethod.Post, "/Home/Subscribe", "ada", new FormUrlEncodedContent([new("Email", "not-an-address")]));
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await run.SendAsync(HttpMethod.Get, "/Home/Checkout/7", "ada")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Get, "/Home/Legacy", "ada")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var view = await run.SendAsync(HttpMethod.Get, "/Home/Broken", "ada");
        view.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await view.Content.ReadAsStringAsync()).Should().Contain("Sorry, something went wrong", "the app's error page still answers");

        var events = await run.EventsUpToAsync("Price list is corrupt");

        events.Should().HaveCount(3, "one per failure, none for the 400");
        AssertRequestAndUser(Single(events, "Cart 7 has no items"), "GET /{controller=Home}/{action=Index}/{id?}", "ada", "/Home/Checkout/7");
        Single(events, "Cart 7 has no items").Tags.Should().Contain("endpoint", "ErrorHub.RealApps.Controllers.HomeController.Checkout (ErrorHub.RealApps)");
        Single(events, "Cart 7 has no items").Tags.Should().Contain("handler", "ErrorHub.RealApps.Controllers.HomeController.Checkout",
            "the action as its frame names it, which grouping counts where the JIT inlined the action away");
        Single(events, "Legacy client check failed").Culprit.Should().Contain("RejectLegacyClientsAttribute");
        AssertNoActionScopeTags(events);
        Single(events, "Price list is corrupt").Culprit.Should().Contain("BrokenModel");
        AssertRequestAndUser(Single(events, "Price list is corrupt"), "GET /{controller=Home}/{action=Index}/{id?}", "ada", "/Home/Broken");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Mvc_exception_filters_that_answer_500_are_reported_once_under_the_action_and_those_that_answer_below_500_are_not()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Mvc);

        (await run.SendAsync(HttpMethod.Get, "/Products/Details/1", "ada")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await run.SendAsync(HttpMethod.Get, "/Products/Buy/2", "ada")).StatusCode.Should().Be(HttpStatusCode.OK);

        // The filter logs, answers a bare 500, and the status code page re-executes the request as /Error/500.
        var report = await run.SendAsync(HttpMethod.Get, "/Products/Report/4", "ada");
        report.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await report.Content.ReadAsStringAsync()).Should().Contain("Error 500", "the status code page answered");

        // The filter answers 500 itself and logs nothing: no log entry, and no exception ever reaches UseErrorHub().
        (await run.SendAsync(HttpMethod.Get, "/Products/Export/5", "ada")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("Export of product 5");

        events.Should().HaveCount(2, Describe(events));
        var logged = Single(events, "Sales report 4 is unavailable");
        AssertRequestAndUser(logged, "GET /{controller=Home}/{action=Index}/{id?}", "ada", "/Products/Report/4");
        logged.Tags.Should().Contain("endpoint", "ErrorHub.RealApps.Controllers.ProductsController.Report (ErrorHub.RealApps)", "not the status page's");
        var silent = Single(events, "Export of product 5 has a bad column");
        AssertRequestAndUser(silent, "GET /{controller=Home}/{action=Index}/{id?}", "ada", "/Products/Export/5");
        silent.Culprit.Should().Contain("ProductsController.Export");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Mvc_action_filters_that_handle_an_exception_with_a_500_are_reported_once_and_those_that_redirect_are_not()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Mvc);

        // The controller's own OnActionExecuted sends the user to sign in again: handled.
        (await run.SendAsync(HttpMethod.Get, "/Statements/Archived/3", "ada")).StatusCode.Should().Be(HttpStatusCode.OK);

        // The action filter answers its own error page with a 500 and logs nothing: no exception filter, no middleware
        // and no log entry ever sees this exception.
        var failed = await run.SendAsync(HttpMethod.Get, "/Statements/Monthly/9", "ada");
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await failed.Content.ReadAsStringAsync()).Should().Contain("We could not show this page", "the filter still answers");
        var reported = await SingleReportAsync(run, "Statement 9 has an unbalanced ledger", "GET /{controller=Home}/{action=Index}/{id?}", "ada", "/Statements/Monthly/9");
        reported.Culprit.Should().Contain("StatementsController.Monthly");
        reported.Exceptions.Should().ContainSingle().Which.Type.Should().Be("System.IO.InvalidDataException");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Mvc_result_filters_that_handle_a_view_failure_with_a_500_are_reported_once_and_those_that_redirect_are_not()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Mvc);

        // The result filter sends the user home: handled.
        (await run.SendAsync(HttpMethod.Get, "/Receipts/Print/13", "ada")).StatusCode.Should().Be(HttpStatusCode.OK);

        // The view fails while rendering; the result filter writes its own page with a 500 and logs nothing: no exception filter,
        // no middleware and no log entry ever sees this exception.
        var failed = await run.SendAsync(HttpMethod.Get, "/Receipts/Print/21", "ada");
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await failed.Content.ReadAsStringAsync()).Should().Contain("This receipt is unavailable", "the filter still answers");
        var reported = await SingleReportAsync(run, "Tax rate for receipt 21 is missing", "GET /{controller=Home}/{action=Index}/{id?}", "ada", "/Receipts/Print/21");
        reported.Culprit.Should().Contain("ReceiptModel.TaxLine");
        reported.Exceptions.Should().ContainSingle().Which.Type.Should().Be("System.Collections.Generic.KeyNotFoundException");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Mvc_in_development_reports_behind_the_developer_exception_page()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Mvc, environment: "Development");

        var page = await run.SendAsync(HttpMethod.Get, "/Home/Checkout/8", "ada");

        page.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("Cart 8 has no items");
        events.Should().ContainSingle();
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Mvc_reports_a_view_that_fails_after_the_response_started_once()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Mvc);

        var cutOff = () => run.SendAsync(HttpMethod.Get, "/Home/Streamed", "ada");
        await cutOff.Should().ThrowAsync<HttpRequestException>("the server can only abort a response it started");

        var events = await run.EventsUpToAsync("Price list is corrupt");
        AssertRequestAndUser(events.Should().ContainSingle().Subject, "GET /{controller=Home}/{action=Index}/{id?}", "ada", "/Home/Streamed");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Web_api_reports_what_its_exception_handler_lets_through_once_and_not_the_conflict_it_maps()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.WebApi);

        var conflict = await run.SendAsync(HttpMethod.Post, "/api/orders/3/pay", "bob");
        conflict.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var invalid = await run.SendAsync(HttpMethod.Post, "/api/orders", "bob", JsonContent.Create(new { quantity = 0 }));
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var failed = await run.SendAsync(HttpMethod.Get, "/api/orders/4", "bob");
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        failed.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");

        var events = await run.EventsUpToAsync("Order 4 vanished");

        var reported = events.Should().ContainSingle().Subject;
        AssertRequestAndUser(reported, "GET /api/Orders/{id:int}", "bob", "/api/orders/4");
        reported.Culprit.Should().Contain("OrdersController");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Razor_pages_report_handler_failures_once_with_the_page_route()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.RazorPages);

        (await run.SendAsync(HttpMethod.Get, "/profile/carol", "carol")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("Profile carol could not be loaded");

        var reported = events.Should().ContainSingle().Subject;
        AssertRequestAndUser(reported, "GET /profile/{handle}", "carol", "/profile/carol");
        reported.Culprit.Should().Contain("ProfileModel");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Razor_pages_name_the_handler_method_the_request_ran()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.RazorPages);

        (await run.SendAsync(HttpMethod.Get, "/profile/erin", "erin")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Get, "/profile/erin?handler=Avatar", "erin")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Post, "/profile/erin?handler=Delete", "erin")).StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed,
            "UseExceptionHandler runs the failed POST again as a POST of the error page, which answers GET only: the app did not handle it");
        var events = await run.EventsUpToAsync("Profile erin could not be deleted");

        events.Should().HaveCount(3, Describe(events));
        // A page's endpoint holds all its handlers: the tag names the one this request ran, as its frame names it, which grouping
        // counts where the JIT inlined the handler away (docs/grouping.md, "Version 11"); the error page that re-executed the
        // request (a GET of /Error) does not change which.
        Single(events, "Profile erin could not be loaded").Tags.Should().Contain("handler", "ErrorHub.RealApps.Pages.ProfileModel.OnGet");
        Single(events, "Avatar store timed out for erin").Tags.Should().Contain("handler", "ErrorHub.RealApps.Pages.ProfileModel.OnGetAvatar",
            "the named handler of ?handler=Avatar, reported by the page filter's 500");
        var deleted = Single(events, "Profile erin could not be deleted");
        deleted.Tags.Should().Contain("handler", "ErrorHub.RealApps.Pages.ProfileModel.OnPostDeleteAsync");
        deleted.Culprit.Should().Contain("ProfileModel.OnPostDeleteAsync", "the tag names the method as its frame does");
        AssertRequestAndUser(deleted, "POST /profile/{handle}", "erin", "/profile/erin");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Razor_pages_report_what_a_page_filter_handles_with_a_500_once_and_not_what_it_redirects()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.RazorPages);

        // The page model's own OnPageHandlerExecuted redirects to sign in: handled.
        (await run.SendAsync(HttpMethod.Get, "/profile/dave?handler=Followers", "dave")).StatusCode.Should().Be(HttpStatusCode.OK);

        // A global page filter answers a timeout with a "try again" page and a 500, and logs nothing.
        var failed = await run.SendAsync(HttpMethod.Get, "/profile/dave?handler=Avatar", "dave");
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await failed.Content.ReadAsStringAsync()).Should().Contain("Try again");
        var reported = await SingleReportAsync(run, "Avatar store timed out for dave", "GET /profile/{handle}", "dave", "/profile/dave");
        reported.Culprit.Should().Contain("ProfileModel.OnGetAvatar");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Minimal_apis_report_endpoint_and_filter_failures_once_and_not_typed_problem_results()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.MinimalApi);

        (await run.SendAsync(HttpMethod.Post, "/todos/5/done", "dan")).StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await run.SendAsync(HttpMethod.Get, "/todos/0", "dan")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Delete, "/todos/5", "dan")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsUpToAsync("Audit log is unavailable");

        events.Should().HaveCount(2);
        AssertRequestAndUser(Single(events, "Todo ids start at 1"), "GET /todos/{id:int}", "dan", "/todos/0");
        AssertRequestAndUser(Single(events, "Audit log is unavailable"), "DELETE /todos/{id:int}", "dan", "/todos/5");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Minimal_api_handlers_that_return_a_plain_task_are_each_their_endpoints_issue()
    {
        // Carter's modules map every endpoint as a lambda of one method; one that returns a plain Task is awaited by the routing middleware itself.
        await using var run = await RealAppRun.StartAsync(AppKind.MinimalApi);

        (await run.SendAsync(HttpMethod.Get, "/exports/orders", "dan")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Get, "/exports/invoices", "dan")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Get, "/exports/orders", "dan")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsUpToAsync("invoices.csv");

        events.Should().HaveCount(3);
        var orders = events.Where(e => e.Exceptions.Any(x => x.Value.Contains("orders.csv", StringComparison.Ordinal))).ToList();
        var invoices = Single(events, "invoices.csv");
        orders.Should().HaveCount(2);
        orders.Select(e => e.Fingerprint).Distinct().Should().ContainSingle("one endpoint's failure twice is one issue");
        invoices.Fingerprint.Should().NotBe(orders[0].Fingerprint, "two endpoints' handlers are two bugs, although both lambdas are MapExports.<lambda>");
        AssertRequestAndUser(invoices, "GET /exports/invoices", "dan", "/exports/invoices");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Minimal_apis_report_a_failure_of_a_request_whose_antiforgery_validation_failed()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.MinimalApi);

        // No token: UseAntiforgery marks the request invalid, and reading its form throws from then on.
        (await run.SendAsync(HttpMethod.Post, "/todos/4/share", "dan", JsonContent.Create(new { to = "eve" }))).StatusCode
            .Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("Share service refused todo 4");

        AssertRequestAndUser(events.Should().ContainSingle(Describe(events)).Subject, "POST /todos/{id:int}/share", "dan", "/todos/4/share");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Layered_api_reports_a_failed_save_once_with_the_apps_frames_and_not_its_400s_and_404s()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Layered);

        var invalid = await run.SendAsync(HttpMethod.Post, "/api/TodoLists", "erin", JsonContent.Create(new { title = "", colourCode = "#5B8DEF" }));
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await run.SendAsync(HttpMethod.Delete, "/api/TodoLists/99", "erin")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        var created = await run.SendAsync(HttpMethod.Post, "/api/TodoLists", "erin", JsonContent.Create(new { title = "Groceries", colourCode = "#5B8DEF" }));
        created.StatusCode.Should().Be(HttpStatusCode.Created);

        // An unknown colour leaves the required column empty: EF Core logs the failed save at Error and throws it on, the
        // mediator logs it again, UseExceptionHandler's empty pipeline wraps it and the server logs the wrapper. One
        // failure, one event, with the frames of the app's handler and endpoint, not only EF Core's.
        var failed = await run.SendAsync(HttpMethod.Post, "/api/TodoLists", "erin", JsonContent.Create(new { title = "Chores", colourCode = "#123456" }));
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("Required properties");

        var reported = events.Should().ContainSingle(Describe(events)).Subject;
        AssertRequestAndUser(reported, "POST /api/TodoLists/", "erin", "/api/TodoLists");
        reported.Exceptions[0].Type.Should().Be("Microsoft.EntityFrameworkCore.DbUpdateException", "the failure, not the wrapper UseExceptionHandler threw");
        reported.Exceptions[0].Frames.Select(f => f.Function).Should().Contain(
            f => f.Contains("CreateAsync", StringComparison.Ordinal), "the handler that saved, which EF Core's log entry had not reached yet");
        reported.Culprit.Should().Contain("Sender");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Background_jobs_report_a_failed_hangfire_job_at_once_not_hours_later_after_its_retries()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.BackgroundJobs);

        (await run.SendAsync(HttpMethod.Post, "/invoices/2/send", "gus")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await run.SendAsync(HttpMethod.Post, "/invoices/7/send", "gus")).StatusCode.Should().Be(HttpStatusCode.Accepted);

        // Hangfire logs the failure as a Warning and retries the job in about half a minute, nine more times, and logs
        // an Error only after the last one, hours later: the event must not wait for that.
        var events = await run.EventsUpToAsync("Invoice 7 has no billing address");

        var reported = events.Should().ContainSingle(Describe(events)).Subject;
        reported.Level.Should().Be("error");
        reported.Tags.Should().Contain("mechanism", "Hangfire");
        reported.Logger.Should().Be("Hangfire.AutomaticRetryAttribute");
        reported.Culprit.Should().Contain("InvoiceMailer.Send");
        reported.Request.Should().BeNull("the job ran on a Hangfire worker, not in the request that enqueued it");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Background_jobs_report_a_failing_hangfire_job_at_its_first_failure_and_its_end_not_at_each_retry()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.BackgroundJobs);

        (await run.SendAsync(HttpMethod.Post, "/invoices/9/remind", "gus")).StatusCode.Should().Be(HttpStatusCode.Accepted);

        // Three attempts: Hangfire logs the first two as Warnings ("Retry attempt 1 of 2", "Retry attempt 2 of 2") and
        // the third, after which it gives up, as an Error.
        await run.WaitUntilAsync(
            () => run.Logs.Entries.Any(e => e.Category == "Hangfire.AutomaticRetryAttribute" && e.Level == LogLevel.Error), "Hangfire gives up after its third attempt");

        var events = await run.EventsUpToAsync("Reminder for invoice 9 has no recipient");

        events.Should().HaveCount(2, "the first failure at once and the job's end, not the retry between them; " + Describe(events));
        events.Should().OnlyContain(e => e.Level == "error" && e.Logger == "Hangfire.AutomaticRetryAttribute" && e.Culprit!.Contains("InvoiceMailer.Remind"));
        events.Select(e => e.Message).Should().ContainSingle(m => m!.Contains("Retry attempt 1 of 2", StringComparison.Ordinal));
        events.Select(e => e.Message).Should().NotContain(m => m!.Contains("Retry attempt 2", StringComparison.Ordinal));
        run.Logs.Entries.Should().Contain(e => e.Message.Contains("Retry attempt 2 of 2", StringComparison.Ordinal), "the retry happened, and failed");
        run.SdkLogNoise.Should().BeEmpty();
    }

    internal static ErrorEvent Single(List<ErrorEvent> events, string message) =>
        events.Should().ContainSingle(e => e.Exceptions.Any(x => x.Value.Contains(message, StringComparison.Ordinal)), message).Subject;

    /// <summary>What a failed count names: each event's first exception, logger and URL, not the whole record.</summary>
    internal static string Describe(List<ErrorEvent> events) =>
        string.Join(" | ", events.Select(e => $"{(e.Exceptions.Count > 0 ? e.Exceptions[0].Value : e.Message)} [{e.Logger}] {e.Request?.Url} {e.Tags.GetValueOrDefault("mechanism")}"));

    /// <summary>The one event of the run up to the one whose message holds <paramref name="sentinel"/>: the failed request's, with its user.</summary>
    private static async Task<ErrorEvent> SingleReportAsync(RealAppRun run, string sentinel, string route, string user, string path)
    {
        var events = await run.EventsUpToAsync(sentinel);
        var reported = events.Should().ContainSingle(Describe(events)).Subject;
        AssertRequestAndUser(reported, route, user, path);
        return reported;
    }

    /// <summary>
    /// MVC opens a log scope for every action it runs, with the action's id and name. The id is a GUID MVC makes
    /// anew at each start (the same action has another after every deploy) and the name repeats the endpoint tag: as
    /// tags they would say nothing and take two of the 20 (found on davidfowl/AspNetCoreDiagnosticScenarios).
    /// </summary>
    private static void AssertNoActionScopeTags(List<ErrorEvent> events) =>
        events.Should().AllSatisfy(e => e.Tags.Keys.Should().NotContain(["ActionId", "ActionName"]));

    internal static void AssertRequestAndUser(ErrorEvent reported, string route, string user, string path)
    {
        reported.Tags.Should().Contain("route", route);
        reported.Request.Should().NotBeNull();
        new Uri(reported.Request!.Url!).AbsolutePath.Should().Be(path, "the failed request's URL, not its error page's");
        reported.User.Should().NotBeNull();
        reported.User!.Id.Should().Be($"id-{user}");
        reported.User.Email.Should().Be($"{user}@example.com");
    }
}
