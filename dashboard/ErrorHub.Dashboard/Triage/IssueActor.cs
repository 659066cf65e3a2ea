using System.Security.Claims;
using ErrorHub.Dashboard.Access;

namespace ErrorHub.Dashboard.Triage;

/// <summary>Who did something to an issue, as its timeline names them: the account (null: none, e.g. a script of old) and its name then.</summary>
public sealed record IssueActor(Guid? Id, string Name)
{
    public static readonly IssueActor Unknown = new(null, "");

    /// <summary>The signed-in user (cookie or API token) behind <paramref name="principal"/>.</summary>
    public static IssueActor Of(ClaimsPrincipal? principal) =>
        AccessClaims.UserId(principal) is { } id ? new IssueActor(id, principal?.Identity?.Name ?? "") : Unknown;
}
