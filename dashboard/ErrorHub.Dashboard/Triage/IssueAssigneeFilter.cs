using System.Security.Claims;
using ErrorHub.Dashboard.Access;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Triage;

/// <summary>
/// The issue list's "Assigned" filter (and Sentry's <c>assigned:</c>, <c>is:assigned</c>, <c>is:unassigned</c>): issues
/// assigned to the signed-in user (<see cref="Me"/>), to nobody, to anyone, or to one account, by id or e-mail.
/// </summary>
internal static class IssueAssigneeFilter
{
    public const string Me = "me";
    public const string Nobody = "none";
    public const string Anyone = "any";

    /// <summary>The longest value taken: an e-mail address is at most 254 characters.</summary>
    public const int MaxLength = 254;

    /// <summary>The value as the list keeps it in its address (lower-case words and e-mails, ids as written), or null: any issue.</summary>
    public static string? Normalize(string? assigned)
    {
        var value = assigned?.Trim();
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            return null;
        }

        return Guid.TryParse(value, out var id) ? id.ToString("D") : value.ToLowerInvariant();
    }

    /// <summary>
    /// <paramref name="filter"/> narrowed to the issues <paramref name="assigned"/> names, given the project's triage as
    /// <see cref="IssueTriage.EvaluateAsync(int, CancellationToken)"/> found it (which holds every assigned issue). An account
    /// that does not exist, or <see cref="Me"/> without a signed-in account, matches no issue.
    /// </summary>
    public static async Task<IssueFilter> ApplyAsync(
        IssueFilter filter, string? assigned, ClaimsPrincipal? user, IAccessStore accounts, IReadOnlyDictionary<string, IssueTriageView> views, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(views);
        if (assigned is null)
        {
            return filter;
        }

        string[] AssignedTo(Func<Guid, bool> who) =>
            [.. views.Where(pair => pair.Value.State?.AssigneeId is { } id && who(id)).Select(pair => pair.Key)];

        if (assigned == Nobody)
        {
            return filter with { ExcludedFingerprints = [.. filter.ExcludedFingerprints ?? [], .. AssignedTo(_ => true)] };
        }

        Guid? account = assigned switch
        {
            Anyone => null,
            Me => AccessClaims.UserId(user) ?? Guid.Empty,
            _ when Guid.TryParse(assigned, out var id) => id,
            _ => (await accounts.FindUserByEmailAsync(assigned, cancellationToken))?.Id ?? Guid.Empty,
        };
        var named = account is { } one ? AssignedTo(id => id == one) : AssignedTo(_ => true);
        return filter with { Fingerprints = filter.Fingerprints is null ? named : [.. filter.Fingerprints.Intersect(named, StringComparer.Ordinal)] };
    }
}
