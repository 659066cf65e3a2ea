using System.Net;
using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Sqlite;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>The budget of bytes in flight: batches past it are turned away with 503 and Retry-After instead of piling up in memory.</summary>
public sealed class IngestAdmissionTests
{
    [Fact]
    public async Task A_batch_past_the_budget_of_bytes_in_flight_is_503_with_retry_after_while_a_lone_batch_is_always_admitted()
    {
        await using var host = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Ingest:MaxBytesInFlight"] = "1",
            ["ErrorHub:Ingest:MaxStoreWait"] = "00:02:00", // the batch waiting for the store below must not be answered 503 for being slow
        });
        var admission = host.Services.GetRequiredService<IngestAdmission>();
        using (var lone = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch)))
        {
            lone.StatusCode.Should().Be(HttpStatusCode.Accepted, "a batch alone is admitted even when it is larger than the budget");
        }

        // Another process holds the database's write lock: the next batch stays in flight, waiting for the store.
        await using var blocker = await SqliteWriteLock.HoldAsync(host.DatabasePath);
        var (waitingBatch, waitingIds) = SampleBatch.WithFreshIds();
        var waiting = host.PostAsync(Wire.Encode(waitingBatch));
        await WaitUntil(() => admission.InFlight > 0 || waiting.IsCompleted);

        using (var turnedAway = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch)))
        {
            turnedAway.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            turnedAway.Headers.RetryAfter!.Delta.Should().BePositive();
            (await IngestHost.JsonAsync(turnedAway)).GetProperty("error").GetString().Should().Contain("busy");
        }

        await Execute(blocker, "ROLLBACK");
        using (var stored = await waiting)
        {
            stored.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        (await host.Issues.GetEventAsync(IngestHost.ProjectId, waitingIds[0])).Should().NotBeNull();
        admission.InFlight.Should().Be(0, "every admitted batch gives its bytes back when it is answered");
    }

    [Fact]
    public async Task Refused_and_rejected_batches_give_their_bytes_back()
    {
        await using var host = await IngestHost.StartAsync();
        var admission = host.Services.GetRequiredService<IngestAdmission>();

        using (await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch)))
        using (await host.PostAsync(IngestHost.Gzip([1, 2, 3]), gzip: true))
        using (await host.PostAsync(Wire.Encode(Wire.Map(("events", Wire.Array(Wire.Map(("level", "error"))))))))
        using (await host.PostAsync(TestBodies.GzipBomb(32L * 1024 * 1024), gzip: false))
        {
        }

        admission.InFlight.Should().Be(0);
    }

    private static async Task Execute(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Polls for a state, bounded: not a timing assertion, the condition is what is checked.</summary>
    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 1500 && !condition(); i++)
        {
            await Task.Delay(20);
        }

        condition().Should().BeTrue("the state was not reached within 30 s");
    }
}
