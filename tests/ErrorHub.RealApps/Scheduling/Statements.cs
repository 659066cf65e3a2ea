using Quartz;

namespace ErrorHub.RealApps.Scheduling;

// Month-end statements run as a Quartz.NET job, triggered by the API for one account (its id in the job's data): as a
// job on a scheduler in the app's process does, with Quartz's hosted service. Our own small job, not any sample's code.

/// <summary>
/// Account 0 has no address (the job throws); account 7's ledger times out, and the job asks Quartz to run it again at
/// once, twice, as Quartz's documentation teaches with a <see cref="JobExecutionException"/>.
/// </summary>
public sealed class StatementJob : IJob
{
    public static readonly JobKey Key = new("statements");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var account = context.MergedJobDataMap.GetInt("account");
        await Task.Yield();
        if (account == 0)
        {
            throw new InvalidOperationException("Account 0 has no statement address");
        }

        try
        {
            if (account == 7)
            {
                throw new TimeoutException("Ledger of account 7 did not answer");
            }
        }
        catch (TimeoutException timeout)
        {
            throw new JobExecutionException(timeout) { RefireImmediately = context.RefireCount < 2 };
        }

        context.Result = $"statement of account {account} sent";
    }
}
