using Coravel;
using Coravel.Invocable;
using Coravel.Queuing.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.RealApps.Memberships;

/// <summary>A welcome mail a request queues on Coravel's in-memory queue: it fails for a member without an address.</summary>
public sealed class WelcomeMail : IInvocable, IInvocableWithPayload<int>
{
    public int Payload { get; set; }

    public Task Invoke() => Payload % 2 == 1
        ? throw new InvalidOperationException($"Member {Payload} has no mail address")
        : Task.CompletedTask;
}

/// <summary>Whether the nightly renewal should find the payment provider down, once (the test says when).</summary>
public sealed class RenewalOutage
{
    private int _pending;

    public void Once() => Interlocked.Exchange(ref _pending, 1);

    public bool Take() => Interlocked.Exchange(ref _pending, 0) == 1;
}

/// <summary>A renewal run Coravel's scheduler starts every second: it fails when the payment provider is down.</summary>
public sealed class MembershipRenewal(RenewalOutage outage) : IInvocable
{
    public Task Invoke() => outage.Take()
        ? throw new TimeoutException("Payment provider did not answer the renewal run")
        : Task.CompletedTask;
}

/// <summary>
/// An API on Coravel (<c>AddScheduler()</c>, <c>AddQueue()</c>): a renewal scheduled every second and welcome mails
/// queued from a request, the queue consumed every second (<c>Coravel:Queue:ConsummationDelay</c>). Coravel swallows
/// what a scheduled or queued task throws: it logs a scheduled task's failure only with
/// <c>LogScheduledTaskProgress()</c>, and a queued task's never (only an error handler of the app's sees it). The app
/// does both, as docs/sdk.md advises.
/// </summary>
public static class MembershipsApi
{
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.Configuration["Coravel:Queue:ConsummationDelay"] = "1";
        builder.Services.AddScheduler();
        builder.Services.AddQueue();
        builder.Services.AddSingleton<RenewalOutage>();
        builder.Services.AddTransient<MembershipRenewal>();
        builder.Services.AddTransient<WelcomeMail>();
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        app.Services.UseScheduler(scheduler => scheduler.Schedule<MembershipRenewal>().EverySecond().PreventOverlapping(nameof(MembershipRenewal)))
            .LogScheduledTaskProgress();
        var queueLog = app.Services.GetRequiredService<ILogger<WelcomeMail>>();
        app.Services.ConfigureQueue().OnError(exception => queueLog.LogError(exception, "A queued task failed"));
        app.UseExceptionHandler();
        app.UseErrorHub();
        app.Use(RealApp.SignInFromHeader);
        app.MapPost("/members/{id:int}/welcome", (int id, IQueue queue) =>
        {
            queue.QueueInvocableWithPayload<WelcomeMail, int>(id);
            return TypedResults.Accepted($"/members/{id}");
        });
        app.MapPost("/renewals/outage", (RenewalOutage outage) =>
        {
            outage.Once();
            return TypedResults.NoContent();
        });
        return app;
    }
}
