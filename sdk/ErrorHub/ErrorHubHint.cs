namespace ErrorHub;

/// <summary>
/// What <see cref="ErrorHubOptions.BeforeSend"/> knows about an event beyond the event itself: the original
/// exception and, for events of an HTTP request, the request and how it ended.
/// </summary>
public sealed class ErrorHubHint
{
    internal ErrorHubHint(Exception? exception) => Exception = exception;

    /// <summary>The exception the event was made from, or null for a message.</summary>
    public Exception? Exception { get; }

    /// <summary>
    /// The request's <c>Microsoft.AspNetCore.Http.HttpContext</c> when the event belongs to one (typed as object
    /// because the core package does not depend on ASP.NET Core); null otherwise.
    /// </summary>
    public object? HttpContext { get; internal set; }

    /// <summary>The response status code the request ended with (or had, when the event was captured after the response started); null outside requests.</summary>
    public int? StatusCode { get; internal set; }
}
