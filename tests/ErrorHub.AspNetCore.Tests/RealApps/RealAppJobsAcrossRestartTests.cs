using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ErrorHub.RealApps;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// Hangfire jobs on storage that outlives the app (a SQLite file, Hangfire.Storage.SQLite): a job fails, the app is
/// stopped before Hangfire retries it, and the app started again retries it. What ErrorHub knew in the first run is gone
/// in the second, yet a job that keeps failing is its two reports (the first failure, the end), not one more for the
/// retry the restarted app runs, and a job the restart fixed is its one report; nothing is lost in the stop.
/// </summary>
[Collection(HangfireGlobals.Collection)]
public sealed class RealAppJobsAcrossRestartTests
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_job_failing_before_and_after_a_restart_is_reported_at_its_first_failure_and_its_end_not_at_the_retry_between()
    {
        await using var ingest = await IngestHost.StartAsync();
        using var storage = new JobStorageFile();

        string job;
        await using (var before = await RealAppRun.StartAsync(AppKind.PersistentJobs, ingest, storage.Settings(retriesDue: false, printerInstalled: false)))
        {
            job = await EnqueueDunningAsync(before, invoiceId: 4);
            await WaitForStateAsync(before, job, "Scheduled"); // its retry, which this run never reaches
            await before.EventsUpToAsync("Dunning letter for invoice 4 has no printer");
        }

        (await ingest.AllEventsAsync()).Should().ContainSingle("the first failure, sent before the app stopped");

        await using var after = await RealAppRun.StartAsync(AppKind.PersistentJobs, ingest, storage.Settings(retriesDue: true, printerInstalled: false));
        await WaitForStateAsync(after, job, "Failed");
        await WaitUntilAsync(
            () => Task.FromResult(after.Logs.Entries.Any(e => e.Category == "Hangfire.AutomaticRetryAttribute" && e.Level == LogLevel.Error)),
            "Hangfire logs that it gave the job up into the restarted app's log", after);
        await WaitUntilAsync(async () => (await ingest.AllEventsAsync()).Count >= 2, "the job's end arrives", after);
        var events = await after.EventsUpToAsync("Dunning letter for invoice 4 has no printer");

        events.Should().HaveCount(2, "the first failure and the job's end, not the retry between them; " + RealAppKindsTests.Describe(events));
        events.Should().OnlyContain(e => e.Level == "error" && e.Logger == "Hangfire.AutomaticRetryAttribute" && e.Culprit!.Contains("DunningLetters.Print"));
        events.Should().OnlyContain(e => e.Request == null && e.Tags["mechanism"] == "Hangfire");
        events.Select(e => e.Fingerprint).Distinct().Should().ContainSingle("one issue");
        events.Select(e => e.Message).Should().ContainSingle(m => m!.Contains("Retry attempt 1 of 2", StringComparison.Ordinal));
        events.Select(e => e.Message).Should().NotContain(m => m!.Contains("Retry attempt 2", StringComparison.Ordinal));
        after.Logs.Entries.Should().Contain(e => e.Message.Contains("Retry attempt 2 of 2", StringComparison.Ordinal), "the restarted app retried the job, and it failed");
        after.Logs.Entries.Should().Contain(e => e.Category == "Hangfire.AutomaticRetryAttribute" && e.Level == LogLevel.Error, "Hangfire gave the job up");
        after.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task A_job_that_succeeds_on_its_retry_after_a_restart_is_its_one_first_failure()
    {
        await using var ingest = await IngestHost.StartAsync();
        using var storage = new JobStorageFile();

        string job;
        await using (var before = await RealAppRun.StartAsync(AppKind.PersistentJobs, ingest, storage.Settings(retriesDue: false, printerInstalled: false)))
        {
            job = await EnqueueDunningAsync(before, invoiceId: 6);
            await WaitForStateAsync(before, job, "Scheduled");
            await before.EventsUpToAsync("Dunning letter for invoice 6 has no printer");
        }

        await using var after = await RealAppRun.StartAsync(AppKind.PersistentJobs, ingest, storage.Settings(retriesDue: true, printerInstalled: true));
        await WaitForStateAsync(after, job, "Succeeded");
        var events = await after.EventsUpToAsync("Dunning letter for invoice 6 has no printer");

        var reported = events.Should().ContainSingle("the failure before the restart, once; the retry succeeded: " + RealAppKindsTests.Describe(events)).Subject;
        reported.Message.Should().Contain("Retry attempt 1 of 2");
        reported.Culprit.Should().Contain("DunningLetters.Print");
        after.SdkLogNoise.Should().BeEmpty();
    }

    private static async Task<string> EnqueueDunningAsync(RealAppRun run, int invoiceId)
    {
        var accepted = await run.SendAsync(HttpMethod.Post, $"/invoices/{invoiceId}/dunning", "gus");
        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted);
        return accepted.Headers.Location!.OriginalString["/jobs/".Length..];
    }

    private static async Task WaitForStateAsync(RealAppRun run, string job, string state)
    {
        var waited = Stopwatch.StartNew();
        string? current = null;
        while (current != state)
        {
            waited.Elapsed.Should().BeLessThan(JobTimeout, "job {0} reaches {1}, is {2}; log: {3}", job, state, current, string.Join("\n", run.Logs.Entries));
            await Task.Delay(100);
            current = await run.Http.GetFromJsonAsync<string>($"/jobs/{job}");
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, RealAppRun run)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            waited.Elapsed.Should().BeLessThan(JobTimeout, "{0}; log: {1}", what, string.Join("\n", run.Logs.Entries));
            await Task.Delay(100);
        }
    }

    /// <summary>A SQLite file for Hangfire's storage that both runs of the app open, deleted after the test.</summary>
    private sealed class JobStorageFile : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-jobs-").FullName;

        /// <summary>
        /// The app's settings: with <paramref name="retriesDue"/> false the server checks for due retries once, as it
        /// starts, and not again within the test (so the first run stops before the retry); true, every 200 ms.
        /// </summary>
        public IReadOnlyDictionary<string, string?> Settings(bool retriesDue, bool printerInstalled) => new Dictionary<string, string?>
        {
            ["Jobs:Storage"] = Path.Combine(_directory, "hangfire.db"),
            ["Jobs:SchedulePollingInterval"] = retriesDue ? "00:00:00.200" : "01:00:00",
            ["Dunning:PrinterInstalled"] = printerInstalled ? "true" : "false",
        };

        public void Dispose()
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open is left to the system's temporary directory.
            }
        }
    }
}

/// <summary>
/// Hangfire keeps its storage and its log provider in statics (<c>JobStorage.Current</c>, <c>LogProvider</c>): two apps
/// with Hangfire servers in one test process must not run at once, or one's jobs log into the other's log.
/// </summary>
[CollectionDefinition(Collection)]
public sealed class HangfireGlobals
{
    public const string Collection = "Hangfire's statics";
}
