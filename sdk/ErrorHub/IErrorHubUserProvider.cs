namespace ErrorHub;

/// <summary>
/// Tells ErrorHub who the affected user is when the app knows more than its claims say (the customer's email
/// from its own store). Register an implementation in the service container; it is called for each event, on
/// the thread that captures it, so it should answer from memory. Whatever it throws is ignored.
/// </summary>
public interface IErrorHubUserProvider
{
    /// <summary>
    /// Returns the user for an event. <paramref name="fromContext"/> is what ErrorHub found (claims, the scope), or
    /// null; return it changed, a new one, or null for no user.
    /// </summary>
    UserInfo? GetUser(UserInfo? fromContext);
}
