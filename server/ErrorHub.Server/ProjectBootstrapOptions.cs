namespace ErrorHub.Server;

/// <summary>
/// The project created at start-up (<c>ErrorHub:Project</c>, part of <see cref="ErrorHubServerOptions"/>), so a fresh server can be set up
/// without any clicking (docs/configuration.md). Without a public key, an existing project keeps its
/// key and a new one gets a random key.
/// </summary>
public sealed class ProjectBootstrapOptions
{
    /// <summary>Create the project when it does not exist (default true).</summary>
    public bool Create { get; set; } = true;

    public int Id { get; set; } = 1;

    /// <summary>The project's name: "Default" for a new project; an existing project keeps its name unless one is set.</summary>
    public string? Name { get; set; }

    /// <summary>The project's public key (the user part of the DSN): 16 to 64 letters, digits, '-' or '_'.</summary>
    public string? PublicKey { get; set; }
}
