using System.Net;
using System.Net.Http.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Testing.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>
/// The dashboard on a SQLite file that another process holds a write transaction on (a backup tool, a sqlite3 shell left
/// in BEGIN): reads and sign-in go on, writes answer 503 with Retry-After once PageWriteTimeout runs out (not an
/// empty 500), several at once each within it, and work again by themselves once the lock is let go.
/// </summary>
public sealed class SqliteStoreLockedTests
{
    private const string Searches = "/api/projects/1/saved-searches";

    [Fact]
    public async Task Several_changes_at_once_each_answer_503_within_the_page_write_timeout_not_one_busy_timeout_after_the_other()
    {
        var path = Path.Combine(Path.GetTempPath(), "errorhub-locked-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await using var api = await ApiHost.StartAsync(settings: new()
            {
                ["ErrorHub:Store:Sqlite:Path"] = path,
                ["ErrorHub:Store:Sqlite:PageWriteTimeout"] = "00:00:02",
            });
            await using var holder = await SqliteWriteLock.HoldAsync(path);

            // Four maintainers at once: this process queues their writes behind each other.
            var started = TimeProvider.System.GetTimestamp();
            var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
                api.Admin.PostAsJsonAsync(Searches, new { name = "During the lock " + i, query = "q=is:regressed" })));
            var elapsed = TimeProvider.System.GetElapsedTime(started);
            foreach (var locked in answers)
            {
                using (locked)
                {
                    locked.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, await locked.Content.ReadAsStringAsync());
                    locked.Headers.RetryAfter!.Delta.Should().BePositive();
                }
            }

            // Unbounded, the first alone waits SQLite's busy timeout of 30 s, and the fourth two minutes.
            elapsed.Should().BeLessThan(TimeSpan.FromSeconds(25), "each change waits PageWriteTimeout in all, its place in the queue included");
            await holder.DisposeAsync();
            using var created = await api.Admin.PostAsJsonAsync(Searches, new { name = "After the lock", query = "q=is:regressed" });
            created.StatusCode.Should().Be(HttpStatusCode.Created);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task Writes_answer_a_clear_503_while_another_process_holds_the_file_and_work_again_once_it_lets_go()
    {
        var path = Path.Combine(Path.GetTempPath(), "errorhub-locked-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await using var api = await ApiHost.StartAsync(settings: new() { ["ErrorHub:Store:Sqlite:Path"] = path });
            using var session = await api.Server.SignedInClientAsync();
            using var signingIn = api.Server.NewClient();

            var holder = await SqliteWriteLock.HoldAsync(path);

            try
            {
                using var list = await session.GetAsync("projects/1/issues");
                list.StatusCode.Should().Be(HttpStatusCode.OK, "reads go on beside another process's write (WAL)");

                // One after the other: each waits out PageWriteTimeout (10 s by default) for the lock.
                Func<Task<HttpResponseMessage>>[] apiCalls =
                [
                    () => api.Admin.GetAsync("/api/projects/1/issues"), // an API token's use is written down
                    () => api.Admin.PostAsJsonAsync(Searches, new { name = "During the lock", query = "q=is:regressed" }),
                ];
                foreach (var call in apiCalls)
                {
                    using var locked = await call();
                    var body = await locked.Content.ReadAsStringAsync();
                    locked.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{locked.RequestMessage!.RequestUri} meets a locked file: {body}");
                    locked.Headers.RetryAfter!.Delta.Should().BePositive();
                    locked.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
                    body.Should().Contain("retry later");
                }

                using var lockedSignIn = await DashboardForms.PostLoginAsync(signingIn, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
                lockedSignIn.StatusCode.Should().Be(HttpStatusCode.Redirect, "signing in only reads");
            }
            finally
            {
                await holder.DisposeAsync(); // its transaction ends unwritten
            }

            var outage = api.Server.Logs.Entries.Where(e => e.Category.EndsWith("StoreOutagePages", StringComparison.Ordinal)).ToList();
            outage.Should().Contain(e => e.Level == LogLevel.Error).Which.Exception!.Message.Should().Contain("locked", "the log says why");

            using (var created = await api.Admin.PostAsJsonAsync(Searches, new { name = "After the lock", query = "q=is:regressed" }))
            {
                created.StatusCode.Should().Be(HttpStatusCode.Created, "the dashboard writes again by itself");
            }

            var names = (await api.GetJsonAsync(Searches)).GetProperty("items").EnumerateArray().Select(item => item.GetProperty("name").GetString()).ToList();
            names.Should().Contain("After the lock").And.NotContain("During the lock", "what was answered 503 was not half done");
            ((int)(await api.Admin.GetAsync("/api/projects/1/issues")).StatusCode).Should().Be(200);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}
