using System.Net;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// A failure after the response has started (an <c>IAsyncEnumerable</c> endpoint streaming a JSON array): the client
/// has its 200 and part of the body, the server can only break the response off, and <c>UseExceptionHandler</c> cannot
/// answer. It is reported once, with the request and user, although the status the app had sent is 200. A stream the
/// client leaves is not reported: its end is the client's doing.
/// </summary>
public sealed class RealAppStreamingTests
{
    [Fact]
    public async Task A_stream_that_fails_after_its_first_entries_is_reported_once_with_its_request()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.MinimalApi);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/todos/changes");
        request.Headers.Add("X-User", "dan");
        using var response = await run.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode.Should().Be(HttpStatusCode.OK, "the first entries went out before the failure");
        await FluentActions.Awaiting(() => response.Content.ReadAsStringAsync()).Should().ThrowAsync<Exception>("the server broke the response off");

        var events = await run.EventsUpToAsync("Change 4 of the todo feed is corrupt");

        events.Should().ContainSingle(RealAppKindsTests.Describe(events));
        var reported = events[0];
        RealAppKindsTests.AssertRequestAndUser(reported, "GET /todos/changes", "dan", "/todos/changes");
        reported.Culprit.Should().Contain("TodoChanges");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task A_live_stream_the_client_leaves_is_not_reported()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.MinimalApi);

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/todos/live"))
        {
            request.Headers.Add("X-User", "dan");
            using var response = await run.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            await using var body = await response.Content.ReadAsStreamAsync();
            await body.ReadExactlyAsync(new byte[50_000]); // two entries and more: the feed is live
        } // the client leaves mid-stream

        await run.WaitUntilAsync(() => run.Logs.Entries.Any(e => e.Message == "Live feed closed"), "the feed sees the client leave");

        (await run.SendAsync(HttpMethod.Get, "/todos/0", "dan")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("Todo ids start at 1");

        events.Should().ContainSingle("only the sentinel failure, not the feed the client left: {0}", RealAppKindsTests.Describe(events));
        run.SdkLogNoise.Should().BeEmpty();
    }
}
