namespace ErrorHub.Storage;

/// <summary>Projects and their keys: read by ingest on every key check (cached), written at start-up and by admins.</summary>
public interface IProjectStore
{
    /// <summary>Creates the project or replaces its name and key; its creation time stays the first one recorded.</summary>
    Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default);

    Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default);

    /// <summary>Every project, by id.</summary>
    Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default);
}

/// <summary>A project: what a DSN points at. Its public key authenticates the SDKs that send to it.</summary>
public sealed record Project(int Id, string Name, string PublicKey, DateTimeOffset CreatedAt);
