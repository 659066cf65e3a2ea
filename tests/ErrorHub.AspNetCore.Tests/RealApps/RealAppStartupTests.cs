using System.Diagnostics;
using ErrorHub.RealApps;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// A web app whose hosted service fails in <c>StartAsync</c> never takes a request: the host logs "Hosting failed to
/// start" and throws out of <c>Run()</c>. That failure is reported once, named by the hosted service, before the
/// process would end.
/// </summary>
public sealed class RealAppStartupTests
{
    [Fact]
    public async Task A_hosted_service_that_fails_to_start_a_web_app_is_reported_once()
    {
        await using var ingest = await IngestHost.StartAsync();
        var logs = new CapturingLoggerProvider();

        var start = () => RealApp.StartAsync(AppKind.FailingWarmup, ingest.Dsn, logs);

        await start.Should().ThrowAsync<DirectoryNotFoundException>();
        var stopwatch = Stopwatch.StartNew();
        var events = await ingest.AllEventsAsync();
        while (events.Count == 0 && stopwatch.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
            events = await ingest.AllEventsAsync();
        }

        // The app's disposal flushed: what was reported is at ingest when StartAsync has thrown, so none is still to come.
        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        reported.Exceptions.Should().ContainSingle().Which.Type.Should().Be("System.IO.DirectoryNotFoundException");
        reported.Culprit.Should().Contain("ExchangeRateWarmup.StartAsync");
        reported.Request.Should().BeNull("no request was running");
    }
}
