using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// What .NET 9 and 10 added around a failing request, in one booking API (tests/ErrorHub.RealApps/Bookings): the
/// exception handler's <c>StatusCodeSelector</c> and a chain of <c>IExceptionHandler</c>s, Server-Sent Events, a
/// WebSocket, status code pages re-executed into a status page that fails, and a typed HTTP client whose service is down.
/// </summary>
public sealed class RealAppBookingsTests
{
    [Fact]
    public async Task What_the_StatusCodeSelector_or_an_exception_handler_answers_below_500_is_not_reported_a_handled_503_and_a_500_are()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Bookings);

        (await run.SendAsync(HttpMethod.Get, "/bookings/150", "kim")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await run.SendAsync(HttpMethod.Post, "/bookings/3/confirm", "kim")).StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await run.SendAsync(HttpMethod.Post, "/bookings/3/cancel", "kim")).StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        (await run.SendAsync(HttpMethod.Post, "/bookings/3/pay", "kim")).StatusCode.Should().Be(HttpStatusCode.PaymentRequired);
        (await run.SendAsync(HttpMethod.Post, "/bookings/3/sync", "kim")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        var failed = await run.SendAsync(HttpMethod.Get, "/bookings/3/invoice", "kim");
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        failed.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");

        var events = await run.EventsUpToAsync("Invoice numbering for booking 3 overflowed");

        events.Should().HaveCount(2, "the 503 an exception handler answered and the 500, not the 404, 409, 422 or 402: {0}", RealAppKindsTests.Describe(events));
        RealAppKindsTests.AssertRequestAndUser(
            RealAppKindsTests.Single(events, "Channel manager is busy, booking 3 not synchronised"), "POST /bookings/{id:int}/sync", "kim", "/bookings/3/sync");
        RealAppKindsTests.AssertRequestAndUser(
            RealAppKindsTests.Single(events, "Invoice numbering for booking 3 overflowed"), "GET /bookings/{id:int}/invoice", "kim", "/bookings/3/invoice");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Minimal_API_validation_400s_and_a_Carter_module_404_are_not_reported_their_endpoints_failures_are_once_each()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Bookings);

        var invalid = await run.SendAsync(HttpMethod.Post, "/bookings", "kim", JsonContent.Create(new { guest = "Kim", nights = 0 }));
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest, "AddValidation() refused the body");
        (await invalid.Content.ReadAsStringAsync()).Should().Contain("Nights");
        (await run.SendAsync(HttpMethod.Post, "/bookings", "kim", JsonContent.Create(new { guest = "Kim", nights = 2 }))).StatusCode.Should().Be(HttpStatusCode.Created);
        (await run.SendAsync(HttpMethod.Get, "/guests/150", "kim")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await run.SendAsync(HttpMethod.Get, "/guests/0", "kim")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Post, "/guests/3/merge", "kim")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Post, "/bookings", "kim", JsonContent.Create(new { guest = "Kim", nights = 13 }))).StatusCode
            .Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsUpToAsync("No rate plan covers 13 nights");

        events.Should().HaveCount(3, RealAppKindsTests.Describe(events));
        RealAppKindsTests.AssertRequestAndUser(
            RealAppKindsTests.Single(events, "Guest 0 has no loyalty account"), "GET /guests/{id:int}", "kim", "/guests/0");
        var merge = RealAppKindsTests.Single(events, "Guest 3 cannot be merged into itself");
        RealAppKindsTests.AssertRequestAndUser(merge, "POST /guests/{id:int}/merge", "kim", "/guests/3/merge");
        merge.Culprit.Should().Be("POST /guests/{id:int}/merge", "a module's handler is a lambda the framework called: the route names it");
        RealAppKindsTests.AssertRequestAndUser(RealAppKindsTests.Single(events, "No rate plan covers 13 nights"), "POST /bookings/", "kim", "/bookings");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task A_MediatR_behavior_that_logs_and_rethrows_reports_a_failure_once_named_by_the_handler_and_a_mapped_404_not_at_all()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Bookings);

        (await run.SendAsync(HttpMethod.Get, "/rooms/7", "kim")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await run.SendAsync(HttpMethod.Get, "/rooms/150", "kim")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await run.SendAsync(HttpMethod.Post, "/rooms/7/clean", "kim")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsUpToAsync("Housekeeping roster for room 7 is empty");

        run.Logs.Entries.Should().Contain(e => e.Message.StartsWith("Request: Unhandled Exception for Request GetRoom", StringComparison.Ordinal), "the behavior logged the 404's exception too");
        var reported = events.Should().ContainSingle("the 500 once, although the behavior and the exception handler both logged it; not the 404: {0}", RealAppKindsTests.Describe(events)).Subject;
        RealAppKindsTests.AssertRequestAndUser(reported, "POST /rooms/{id:int}/clean", "kim", "/rooms/7/clean");
        reported.Culprit.Should().Contain("CleanRoomHandler.Handle");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task A_status_page_that_fails_when_status_code_pages_re_execute_into_it_is_reported_once()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Bookings);

        (await run.SendAsync(HttpMethod.Get, "/bookings/3/voucher", "kim")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsUpToAsync("Status page template gone.html is missing");

        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        reported.Request.Should().NotBeNull();
        new Uri(reported.Request!.Url!).AbsolutePath.Should().Be("/bookings/3/voucher", "the request the client sent");
        reported.Tags.Should().Contain("route", "GET /status/{code:int}", "the status page failed, not the voucher endpoint");
        reported.User!.Id.Should().Be("id-kim");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task A_typed_HTTP_client_whose_service_is_down_is_reported_once_named_by_the_client_with_the_call_as_breadcrumb()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Bookings);

        (await run.SendAsync(HttpMethod.Get, "/bookings/3/quote", "kim")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsUpToAsync("Connection refused");

        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        RealAppKindsTests.AssertRequestAndUser(reported, "GET /bookings/{id:int}/quote", "kim", "/bookings/3/quote");
        reported.Exceptions.Should().Contain(x => x.Type.EndsWith("HttpRequestException", StringComparison.Ordinal));
        reported.Culprit.Should().Contain("ExchangeRatesClient.GetRateAsync");
        reported.Breadcrumbs.Should().Contain(
            b => b.Category!.StartsWith("System.Net.Http.HttpClient.ExchangeRatesClient", StringComparison.Ordinal) && b.Message.Contains("/rates/EUR"),
            "the outgoing call that failed: {0}", string.Join(" | ", reported.Breadcrumbs?.Select(b => $"{b.Category}: {b.Message}") ?? []));
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Server_sent_events_that_fail_mid_stream_are_reported_once_a_stream_the_client_leaves_is_not()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Bookings);

        using (var live = new HttpRequestMessage(HttpMethod.Get, "/bookings/live"))
        {
            live.Headers.Add("X-User", "kim");
            using var response = await run.Http.SendAsync(live, HttpCompletionOption.ResponseHeadersRead);
            response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line && !line.Contains("booking 3 confirmed", StringComparison.Ordinal))
            {
            }
        } // the client leaves mid-stream

        await run.WaitUntilAsync(() => run.Logs.Entries.Any(e => e.Message == "Booking feed closed"), "the feed sees the client leave");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/bookings/events");
        request.Headers.Add("X-User", "kim");
        using (var response = await run.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            await FluentActions.Awaiting(() => response.Content.ReadAsStringAsync()).Should().ThrowAsync<Exception>("the server broke the stream off");
        }

        var events = await run.EventsUpToAsync("Booking event 4 has no room number");

        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        RealAppKindsTests.AssertRequestAndUser(reported, "GET /bookings/events", "kim", "/bookings/events");
        reported.Culprit.Should().Contain("BookingEvents");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task A_WebSocket_handler_that_throws_after_accepting_is_reported_once_a_client_that_drops_the_socket_is_not()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Bookings);
        var desk = new UriBuilder(run.BaseAddress) { Scheme = "ws", Path = "/bookings/desk", Query = "user=kim" }.Uri;

        using (var dropped = new ClientWebSocket())
        {
            await dropped.ConnectAsync(desk, CancellationToken.None);
            (await ExchangeAsync(dropped, "hello")).Should().Be("ok hello");
            dropped.Abort(); // the tab closed: no close handshake
        }

        await run.WaitUntilAsync(
            () => run.Logs.Entries.Any(e => e.Exception is WebSocketException or OperationCanceledException or IOException), "the server sees the socket dropped");

        using (var failing = new ClientWebSocket())
        {
            await failing.ConnectAsync(desk, CancellationToken.None);
            (await ExchangeAsync(failing, "hello")).Should().Be("ok hello");
            await SendAsync(failing, "reprice");
        }

        var events = await run.EventsUpToAsync("Front desk cannot reprice a booking that is checked in");

        var reported = events.Should().ContainSingle("the handler's failure, not the dropped socket: {0}", RealAppKindsTests.Describe(events)).Subject;
        RealAppKindsTests.AssertRequestAndUser(reported, "GET /bookings/desk", "kim", "/bookings/desk");
        reported.Culprit.Should().Contain("FrontDesk");
        run.SdkLogNoise.Should().BeEmpty();
    }

    private static async Task<string> ExchangeAsync(ClientWebSocket socket, string command)
    {
        await SendAsync(socket, command);
        var buffer = new byte[1024];
        var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
        return Encoding.UTF8.GetString(buffer, 0, received.Count);
    }

    private static Task SendAsync(ClientWebSocket socket, string command) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(command), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
}
