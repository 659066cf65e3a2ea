namespace ErrorHub.Internal;

/// <summary>
/// What a request thread copied of its request for an event, cheaply (references, no scrubbing, no dictionaries), to be
/// turned into the event's <see cref="RequestInfo"/> values when they are first read, by then on another thread and
/// after the request has ended: it holds nothing of the request that the server recycles. ErrorHub.AspNetCore makes it.
/// </summary>
internal abstract class RequestSnapshot
{
    /// <summary>The values, scrubbed and cut as the event reports them. Called once, never concurrently.</summary>
    public abstract (string? Method, string? Url, string? QueryString, IDictionary<string, string> Headers, IDictionary<string, string> Form) Fill();
}
