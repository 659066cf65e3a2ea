namespace ErrorHub.Internal;

/// <summary>
/// What a request thread copied of its request for an event, cheaply (references, no scrubbing, no dictionaries), to be
/// turned into the event's <see cref="RequestInfo"/> values when they are first read, by then on another thread and
/// after the request has ended: it holds nothing of the request that the server recycles. ErrorHub.AspNetCore makes it.
/// </summary>
internal abstract class RequestSnapshot
{
    /// <summary>The values, scrubbed and cut as the event reports them. Never throws.</summary>
    public abstract (string? Method, string? Url, string? QueryString, IDictionary<string, string> Headers, IDictionary<string, string> Form) Fill();

    /// <summary>
    /// The same values for the wire writer of an event whose request nobody read: the headers as pairs, in the order
    /// <see cref="Fill"/> puts them in its dictionary, without making the dictionary. False when the pairs would not be
    /// what the dictionary holds (two names equal but for case; no server sends that); the writer then fills.
    /// </summary>
    public abstract bool TryReadForWire(out WireRequest request);
}

/// <summary>A request as the wire writer needs it: <see cref="RequestSnapshot.Fill"/>'s values, headers as pairs.</summary>
internal readonly record struct WireRequest(
    string? Method, string? Url, string? QueryString, KeyValuePair<string, string>[] Headers, IDictionary<string, string>? Form);
