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
}
