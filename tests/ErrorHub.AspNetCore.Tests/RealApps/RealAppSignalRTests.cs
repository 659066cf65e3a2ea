using ErrorHub.RealApps;
using FluentAssertions;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// A SignalR app (the kind Blazor Server is built on): a hub method's failure is reported while the connection is still
/// open (its HTTP request completes only when the client leaves), once, named by the hub method, with the caller's
/// user; a <see cref="HubException"/>, which the hub throws to tell the caller "no", is not reported. The same over
/// every transport: over long polling and server-sent events a hub call arrives in one short HTTP request and its
/// result leaves in another, each answered 200 or 204: neither is the failure's request nor decides its outcome.
/// </summary>
public sealed class RealAppSignalRTests
{
    [Theory]
    [InlineData(HttpTransportType.WebSockets)]
    [InlineData(HttpTransportType.LongPolling)]
    [InlineData(HttpTransportType.ServerSentEvents)]
    public async Task SignalR_reports_a_failing_hub_method_once_at_once_with_the_user_and_not_a_HubException(HttpTransportType transport)
    {
        await using var run = await RealAppRun.StartAsync(AppKind.SignalR);
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(run.BaseAddress, "/chat?user=erin"), transport)
            .Build();
        await connection.StartAsync();

        var refused = () => connection.InvokeAsync("Join", "lobby");
        (await refused.Should().ThrowAsync<HubException>()).Which.Message.Should().Contain("Room lobby is full");
        var failed = () => connection.InvokeAsync("Send", "lobby", "hi");
        await failed.Should().ThrowAsync<HubException>();

        // While the connection stays open: a hub's request lasts as long as its client does.
        var events = await run.EventsUpToAsync("Room lobby lost its history");
        var reported = events.Should().ContainSingle("the HubException was the app's answer to the caller").Subject;
        reported.Culprit.Should().Contain("ChatHub");
        reported.Tags.Should().Contain("hub.method", "ChatHub.Send");
        reported.User!.Id.Should().Be("id-erin");
        reported.Request.Should().BeNull("the connection's requests (the socket, a poll, a send) are not the call's");
        reported.Level.Should().Be("error");
        (await connection.InvokeAsync<int>("Echo", 42)).Should().Be(42, "the connection survives");

        // The client leaves: every request of the connection completes now (a poll with 200 or 204), and nothing held on
        // one of them may come out as a second report, or as the first one's outcome.
        await connection.StopAsync();
        await run.App.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(10));
        (await run.Ingest.AllEventsAsync()).Should().ContainSingle();
        run.SdkLogNoise.Should().BeEmpty();
    }

}
