using Hangfire;
using Hangfire.Storage.SQLite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.RealApps.Jobs;

/// <summary>
/// A Hangfire job that needs the office printer: it fails until the app runs with <c>Dunning:PrinterInstalled</c>, as a
/// job fails until a fix is deployed and the app restarted. Two more attempts, each due a second after the last (a
/// retry due at once Hangfire enqueues at once, not through its scheduler).
/// </summary>
public sealed class DunningLetters(IConfiguration configuration)
{
    [AutomaticRetry(Attempts = 2, DelaysInSeconds = [1])]
    public void Print(int invoiceId)
    {
        if (!configuration.GetValue<bool>("Dunning:PrinterInstalled"))
        {
            throw new InvalidOperationException($"Dunning letter for invoice {invoiceId} has no printer");
        }
    }
}

/// <summary>
/// An API whose Hangfire jobs outlive the app: their storage is a SQLite file (<c>Jobs:Storage</c>), so a job that
/// failed before a restart is retried after it. <c>Jobs:SchedulePollingInterval</c> is how often the server moves the
/// retries that are due to the queue (Hangfire's default, 15 s, unless set).
/// </summary>
public static class PersistentJobsApi
{
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var storage = builder.Configuration["Jobs:Storage"] ?? throw new InvalidOperationException("Jobs:Storage is not set");
        builder.Services.AddHangfire(configuration => configuration.UseSQLiteStorage(
            storage, new SQLiteStorageOptions { QueuePollInterval = TimeSpan.FromMilliseconds(200) }).UseLogProvider(HangfireLogs.Instance));
        builder.Services.AddHangfireServer(options =>
        {
            options.WorkerCount = 1;
            options.SchedulePollingInterval = builder.Configuration.GetValue("Jobs:SchedulePollingInterval", TimeSpan.FromSeconds(15));
        });
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        HangfireLogs.Instance.Follow(app.Services.GetRequiredService<ILoggerFactory>());
        app.UseExceptionHandler();
        app.UseErrorHub();
        app.Use(RealApp.SignInFromHeader);
        app.MapPost("/invoices/{id:int}/dunning", (int id, IBackgroundJobClient jobs) =>
            TypedResults.Accepted($"/jobs/{jobs.Enqueue<DunningLetters>(letters => letters.Print(id))}"));
        app.MapGet("/jobs/{id}", (string id, JobStorage jobs) =>
        {
            using var connection = jobs.GetConnection();
            return connection.GetStateData(id) is { } state ? Results.Ok(state.Name) : Results.NotFound();
        });
        return app;
    }
}
