using ErrorHub.AspNetCore.Tests.Infrastructure;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Noise;

/// <summary>
/// A client that goes away is not an error of the app: OperationCanceledException or IOException while the request is
/// aborted is not reported. The same exceptions while the client is still there are the app's own failures, and are.
/// The client really disconnects, from a real app on a real socket.
/// </summary>
public sealed class ClientAbortTests : IAsyncLifetime
{
    private CapturingApp _app = null!;

    public async Task InitializeAsync() => _app = await CapturingApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData("cancel")]
    [InlineData("io")]
    public async Task An_exception_caused_by_the_client_going_away_is_not_reported(string exception)
    {
        await DisconnectDuringAsync($"{CapturingApp.AfterAbortPath}?throw={exception}");

        _app.Events.Should().BeEmpty();
    }

    [Fact]
    public async Task Any_other_exception_after_the_client_went_away_is_still_reported()
    {
        await DisconnectDuringAsync($"{CapturingApp.AfterAbortPath}?throw=other");

        _app.Events.Should().ContainSingle().Which.Exceptions[0].Type.Should().Be("System.InvalidOperationException");
    }

    [Theory]
    [InlineData("cancel", "System.Threading.Tasks.TaskCanceledException")]
    [InlineData("io", "System.IO.IOException")]
    public async Task The_same_exceptions_while_the_client_is_still_there_are_reported(string exception, string type)
    {
        var e = await _app.EventForAsync($"{CapturingApp.ThrowPath}?throw={exception}");

        e.Exceptions[0].Type.Should().Be(type);
    }

    /// <summary>Sends the request, hangs up once the app is working on it, and returns when the app is done with it.</summary>
    private async Task DisconnectDuringAsync(string pathAndQuery)
    {
        using var hangUp = new CancellationTokenSource();
        var request = _app.Http.GetAsync(pathAndQuery, hangUp.Token);
        await _app.AbortableRequestStarted.WaitAsync(CapturingApp.Guard);

        await hangUp.CancelAsync();

        await FluentActions.Awaiting(() => request).Should().ThrowAsync<OperationCanceledException>();
        (await _app.NextFinishedAsync()).Should().Be(pathAndQuery, "the app is done with the request, so the middleware has decided");
    }
}
