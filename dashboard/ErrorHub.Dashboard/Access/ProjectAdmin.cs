using ErrorHub.Ingestion;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// Project management for admins: create, rename, delete, keys, members, limits. Each action checks that
/// the acting user is an active admin (as the store says now). Revoking a key or deleting a project makes
/// this process's ingest refuse it at once; stand-alone ingest services follow within seconds. Deleting a project
/// also removes its issues' subscriptions and bookmarks.
/// </summary>
internal sealed partial class ProjectAdmin(
    Accounts accounts,
    IProjectStore projects,
    IAccessStore access,
    INotificationStore notifications,
    IIssueBookmarks bookmarks,
    IEnumerable<IProjectKeyCache> keyCaches,
    ISavedSearches savedSearches,
    TimeProvider clock,
    ILogger<ProjectAdmin> logger)
{
    public const int MaxNameLength = 100;

    public async Task<AccountResult<Project>> CreateAsync(Guid adminId, string? name, CancellationToken cancellationToken = default)
    {
        if (await Refuse(adminId, cancellationToken) is { } refused)
        {
            return AccountResult<Project>.Refused(refused);
        }

        if (NameProblem(name) is { } problem)
        {
            return AccountResult<Project>.Refused(problem);
        }

        var project = await projects.CreateProjectAsync(name!.Trim(), ProjectKey.NewPublicKey(), clock.GetUtcNow(), cancellationToken);
        Forget(project.Id); // its id may have been refused (and the refusal cached) before it existed
        LogCreated(logger, project.Id, project.Name);
        return AccountResult<Project>.Ok(project);
    }

    public async Task<string?> RenameAsync(Guid adminId, int projectId, string? name, CancellationToken cancellationToken = default) =>
        await Refuse(adminId, cancellationToken) ?? NameProblem(name)
        ?? (await projects.RenameProjectAsync(projectId, name!.Trim(), cancellationToken) ? null : "There is no such project.");

    public async Task<string?> DeleteAsync(Guid adminId, int projectId, CancellationToken cancellationToken = default)
    {
        if (await Refuse(adminId, cancellationToken) is { } refused)
        {
            return refused;
        }

        if (!await projects.DeleteProjectAsync(projectId, clock.GetUtcNow(), cancellationToken))
        {
            return "There is no such project.";
        }

        Forget(projectId);

        // Nobody opens a deleted project's list again or can read it: its saved searches and pins, who followed or starred
        // its issues, leave nothing behind (its events may stay stored).
        await savedSearches.ForgetProjectAsync(projectId, clock.GetUtcNow(), cancellationToken);
        await notifications.DeleteSubscriptionsAsync(projectId, cancellationToken);
        await bookmarks.DeleteBookmarksAsync(projectId, cancellationToken);
        LogDeleted(logger, projectId);
        return null;
    }

    public async Task<string?> AddKeyAsync(Guid adminId, int projectId, string? label, CancellationToken cancellationToken = default) =>
        await Refuse(adminId, cancellationToken)
        ?? (string.IsNullOrWhiteSpace(label) || label.Trim().Length > MaxNameLength ? $"Name the key (up to {MaxNameLength} characters), e.g. after the app that uses it." : null)
        ?? OneLineProblem(label!, "A key's name")
        ?? (await projects.AddKeyAsync(projectId, ProjectKey.NewPublicKey(), label!.Trim(), clock.GetUtcNow(), cancellationToken) ? null : "There is no such project.");

    /// <summary>A new key with the old one's label, then the old one revoked: apps must switch to the new DSN.</summary>
    public async Task<string?> RotateKeyAsync(Guid adminId, int projectId, string publicKey, CancellationToken cancellationToken = default)
    {
        if (await Refuse(adminId, cancellationToken) is { } refused)
        {
            return refused;
        }

        var key = (await projects.GetKeysAsync(projectId, cancellationToken)).SingleOrDefault(k => k.PublicKey == publicKey && k.IsActive);
        if (key is null)
        {
            return "That key is not active.";
        }

        await projects.AddKeyAsync(projectId, ProjectKey.NewPublicKey(), key.Label, clock.GetUtcNow(), cancellationToken);
        await projects.RevokeKeyAsync(projectId, publicKey, clock.GetUtcNow(), cancellationToken);
        Forget(projectId);
        return null;
    }

    public async Task<string?> RevokeKeyAsync(Guid adminId, int projectId, string publicKey, CancellationToken cancellationToken = default)
    {
        if (await Refuse(adminId, cancellationToken) is { } refused)
        {
            return refused;
        }

        if (!await projects.RevokeKeyAsync(projectId, publicKey, clock.GetUtcNow(), cancellationToken))
        {
            return "That key is not active.";
        }

        Forget(projectId);
        return null;
    }

    public async Task<string?> SaveSettingsAsync(Guid adminId, int projectId, ProjectSettings settings, CancellationToken cancellationToken = default)
    {
        if (await Refuse(adminId, cancellationToken) is { } refused)
        {
            return refused;
        }

        if (settings.RateLimitPerMinute is < 1 or > 10_000_000)
        {
            return "The rate limit is a number of events per minute from 1 to 10,000,000, or empty for none.";
        }

        if (settings.RetentionDays is < 1 or > 3650)
        {
            return "Retention is a number of days from 1 to 3650, or empty for the server's default (90 days unless configured).";
        }

        if (!await projects.SaveSettingsAsync(projectId, settings, cancellationToken))
        {
            return "There is no such project.";
        }

        Forget(projectId); // a new rate limit counts at once
        return null;
    }

    public async Task<string?> SetMemberAsync(Guid adminId, int projectId, Guid userId, bool member, CancellationToken cancellationToken = default)
    {
        if (await Refuse(adminId, cancellationToken) is { } refused)
        {
            return refused;
        }

        if (await projects.GetProjectAsync(projectId, cancellationToken) is null || await access.GetUserAsync(userId, cancellationToken) is null)
        {
            return "There is no such project or user.";
        }

        if (member)
        {
            await access.AddMemberAsync(projectId, userId, cancellationToken);
        }
        else
        {
            await access.RemoveMemberAsync(projectId, userId, cancellationToken);
        }

        return null;
    }

    private static string? NameProblem(string? name) =>
        string.IsNullOrWhiteSpace(name) || name.Trim().Length > MaxNameLength ? $"Enter a name of up to {MaxNameLength} characters." : OneLineProblem(name, "A project's name");

    /// <summary>
    /// Names are shown in lists, page titles and the subjects of alert e-mails: a line break, NUL or other control
    /// character would garble them, and broken UTF-16 cannot be stored faithfully (the rule of API token names).
    /// </summary>
    private static string? OneLineProblem(string name, string what)
    {
        var trimmed = name.AsSpan().Trim();
        for (var i = 0; i < trimmed.Length; i++)
        {
            if (char.IsControl(trimmed[i]))
            {
                return $"{what} is one line of text, without control characters.";
            }

            if (char.IsHighSurrogate(trimmed[i]) && i + 1 < trimmed.Length && char.IsLowSurrogate(trimmed[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(trimmed[i]))
            {
                return $"{what} must be valid Unicode text.";
            }
        }

        return null;
    }

    private async Task<string?> Refuse(Guid adminId, CancellationToken cancellationToken) =>
        await accounts.AdminAsync(adminId, cancellationToken) is null ? "Only an admin can manage projects." : null;

    private void Forget(int projectId)
    {
        foreach (var cache in keyCaches)
        {
            cache.Forget(projectId);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Project {ProjectId} ({Name}) created")]
    private static partial void LogCreated(ILogger logger, int projectId, string name);

    [LoggerMessage(2, LogLevel.Information, "Project {ProjectId} deleted")]
    private static partial void LogDeleted(ILogger logger, int projectId);
}
