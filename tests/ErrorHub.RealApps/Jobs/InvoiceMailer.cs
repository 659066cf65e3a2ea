using Hangfire;

namespace ErrorHub.RealApps.Jobs;

/// <summary>A Hangfire job: the app enqueues it from a request, a Hangfire worker runs it later, outside any request.</summary>
public sealed class InvoiceMailer
{
    public void Send(int invoiceId)
    {
        if (invoiceId % 2 == 1)
        {
            throw new InvalidOperationException($"Invoice {invoiceId} has no billing address");
        }
    }

    /// <summary>A job with retries of its own, as teams set them: two more attempts, each at once.</summary>
    [AutomaticRetry(Attempts = 2, DelaysInSeconds = [0])]
    public void Remind(int invoiceId) =>
        throw new InvalidOperationException($"Reminder for invoice {invoiceId} has no recipient");
}
