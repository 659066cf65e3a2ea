using ErrorHub.Storage.Events;
using ErrorHub.Storage.Retention;
using ErrorHub.Storage.Sqlite;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// The notifier's late-event watch counts the last day's events per hour every few minutes. On SQLite that count reads
/// the hours' rows of <c>event_hours</c> (kept by triggers), so its work does not grow with the day's events; the counts
/// stay exact as events are added late, deleted by retention, and in a file made before the table existed.
/// </summary>
public sealed class SqliteEventHoursTests : IDisposable
{
    private const int Project = 3;
    private static readonly DateTimeOffset Day = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-hours-" + Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_directory, "errorhub.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task The_days_count_per_hour_does_as_much_work_with_ten_times_the_events()
    {
        using var store = SqliteDatabase.Open(DatabasePath);
        await store.Schema.EnsureSchemaAsync();
        await InsertAsync(store, EventsOfTheDay(perHour: 10, from: 0));
        var fewer = await CountWorkAsync(store);

        await InsertAsync(store, EventsOfTheDay(perHour: 90, from: 10));
        var more = await CountWorkAsync(store);

        fewer.Hours.Should().OnlyContain(count => count == 10);
        more.Hours.Should().OnlyContain(count => count == 100, "every event of each hour is counted");
        more.Steps.Should().BeLessThan(fewer.Steps * 2,
            "the count reads one row per hour, not one index entry per event ({0} steps for 240 events, {1} for 2,400)", fewer.Steps, more.Steps);
    }

    [Fact]
    public async Task The_counts_per_hour_follow_late_events_retention_and_a_file_made_before_they_were_kept()
    {
        using (var old = SqliteDatabase.Open(DatabasePath))
        {
            await old.Schema.EnsureSchemaAsync();
            await InsertAsync(old, EventsOfTheDay(perHour: 3, from: 0));
        }

        // A file of an earlier release: its events were never counted per hour.
        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var drop = connection.CreateCommand();
            drop.CommandText = "DROP TRIGGER event_hours_added; DROP TRIGGER event_hours_removed; DROP TRIGGER event_hours_moved; DROP TABLE event_hours;";
            await drop.ExecuteNonQueryAsync();
        }

        using var store = SqliteDatabase.Open(DatabasePath);
        await store.Schema.EnsureSchemaAsync();
        (await HoursAsync(store)).Should().OnlyContain(count => count == 3, "the upgrade counts what the file holds");

        await InsertAsync(store, [TestEvents.Create(Project, "late", Day.AddHours(5).AddMinutes(7)), TestEvents.Create(Project, "late", Day.AddHours(5).AddMinutes(8))]);
        await InsertAsync(store, [TestEvents.Create(Project, "late", Day.AddHours(5).AddMinutes(7)) with { EventId = (await store.Issues.GetEventsAsync(Project, "late", 10))[0].EventId }]);
        var hours = await HoursAsync(store);
        hours[5].Should().Be(5, "two late events came in hour 5; one sent twice is stored once");
        hours.Where((_, i) => i != 5).Should().OnlyContain(count => count == 3);

        await store.Retention.DeleteExpiredAsync(new RetentionPlan(new Dictionary<int, DateTimeOffset?> { [Project] = Day.AddHours(10) }, null));
        hours = await HoursAsync(store);
        hours.Take(10).Should().OnlyContain(count => count == 0, "retention deleted the hours before its cutoff");
        hours.Skip(10).Should().OnlyContain(count => count == 3);
    }

    private static List<ErrorEvent> EventsOfTheDay(int perHour, int from) =>
        [.. Enumerable.Range(0, 24).SelectMany(hour => Enumerable.Range(from, perHour).Select(n =>
            TestEvents.Create(Project, $"issue-{n % 7}", Day.AddHours(hour).AddSeconds(n * 30 % 3600))))];

    private static async Task InsertAsync(ErrorHubStore store, List<ErrorEvent> events)
    {
        foreach (var chunk in events.Chunk(500))
        {
            await store.Events.InsertEventsAsync(chunk);
        }
    }

    private static Task<long[]> HoursAsync(ErrorHubStore store) => store.Notifications.Activity.GetEventsPerHourAsync(Project, Day, Day.AddDays(1));

    /// <summary>The day's count per hour and the SQLite virtual machine's steps it took (counted by a progress handler called at every step).</summary>
    private static async Task<(long[] Hours, long Steps)> CountWorkAsync(ErrorHubStore store)
    {
        long steps = 0;
        var database = (SqliteDatabase)store.Schema;
        database.ConnectionOpenedForTests = connection => SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, 1, _ =>
        {
            steps++;
            return 0;
        }, null);
        try
        {
            var hours = await HoursAsync(store);
            return (hours, steps);
        }
        finally
        {
            database.ConnectionOpenedForTests = null;
        }
    }
}
