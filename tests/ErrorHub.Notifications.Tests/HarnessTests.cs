using ErrorHub.Testing.Smtp;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// Tests that each start a harness of their own on the collection's SMTP server (<see cref="NotificationHarness.StartAsync"/>)
/// with the store's settings of a derived class, and dispose of it after.
/// </summary>
public abstract class HarnessTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private protected NotificationHarness Harness { get; private set; } = null!;

    private protected SmtpServerFixture Smtp => smtp;

    /// <summary>The harness's settings beyond its own: the store's (SQLite in the harness's folder when empty), and what a test changes.</summary>
    private protected virtual Dictionary<string, string?> Settings => [];

    public virtual async Task InitializeAsync() => Harness = await NotificationHarness.StartAsync(smtp, Settings);

    public virtual async Task DisposeAsync() => await Harness.DisposeAsync();
}
