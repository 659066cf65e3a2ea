using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.Extensions.Options;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// The one-time link to the setup page: a random secret made at each start, good only while no account
/// exists, so nobody but whoever reads the server's log can claim the first admin.
/// </summary>
internal sealed class SetupLink
{
    public string Secret { get; } = Secrets.New("");

    public bool Matches(string? secret) => Secrets.FixedTimeEquals(Secret, secret);

    public string RelativeUrl => "setup?token=" + Uri.EscapeDataString(Secret);
}

/// <summary>
/// At start-up, after the store's schema: creates the configured admin and API token (<c>ErrorHub:Admin</c>),
/// and, while no account exists, prints where to create the first admin once the server listens. With a store that
/// cannot make its tables yet, both happen once it has (<see cref="StoreSchemaState"/>).
/// </summary>
internal sealed partial class AccessBootstrap(
    Accounts accounts,
    StoreSchemaState schema,
    IOptions<ErrorHubServerOptions> options,
    SetupLink setupLink,
    ServerUrls urls,
    IHostApplicationLifetime lifetime,
    ILogger<AccessBootstrap> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!schema.DeferUntilCreated("creating the configured admin and checking for the first one", EnsureAdminAsync))
        {
            await EnsureAdminAsync(cancellationToken);
        }
    }

    private async Task EnsureAdminAsync(CancellationToken cancellationToken)
    {
        var admin = options.Value.Admin;
        if (await accounts.EnsureConfiguredAdminAsync(admin, cancellationToken) is { } configured)
        {
            if (admin.ApiToken is { } token)
            {
                await accounts.EnsureConfiguredApiTokenAsync(configured, token, cancellationToken);
            }
        }
        else if (admin.Email is not null)
        {
            LogConfiguredAdminMissing(logger, admin.Email);
        }

        if (!await accounts.AnyUserAsync(cancellationToken))
        {
            // At start-up, once the server listens; deferred until the store made its tables, now (it listens already).
            lifetime.ApplicationStarted.Register(() => LogSetup(logger, urls.Link(setupLink.RelativeUrl)));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(1, LogLevel.Warning,
        "No account exists yet. Create the first admin at {SetupUrl} (this link works until then; it changes at each start), " +
        "or set ErrorHub__Admin__Email and ErrorHub__Admin__Password and start again")]
    private static partial void LogSetup(ILogger logger, Uri setupUrl);

    [LoggerMessage(2, LogLevel.Warning, "ErrorHub:Admin:Email is {Email}, but no such account exists and ErrorHub:Admin:Password is not set: nothing was created")]
    private static partial void LogConfiguredAdminMissing(ILogger logger, string email);
}
