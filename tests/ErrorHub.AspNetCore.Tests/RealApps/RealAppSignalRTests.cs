using ErrorHub.RealApps;
using FluentAssertions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// A SignalR app (the kind Blazor Server is built on): a hub method's failure is reported while the connection is still
/// open (its HTTP request completes only when the client leaves), once, named by the hub method, with the caller's
/// user; a <see cref="HubException"/>, which the hub throws to tell the caller "no", is not reported.
/// </summary>
public sealed class RealAppSignalRTests
{
    [Fact]
    public async Task SignalR_reports_a_failing_hub_method_once_at_once_with_the_user_and_not_a_HubException()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.SignalR);
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(run.BaseAddress, "/chat?user=erin"))
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
        (await connection.InvokeAsync<int>("Echo", 42)).Should().Be(42, "the connection survives");
        run.SdkLogNoise.Should().BeEmpty();
    }

}
