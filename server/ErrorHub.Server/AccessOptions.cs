namespace ErrorHub.Server;

/// <summary>
/// The first admin, made at start-up from configuration (<c>ErrorHub:Admin</c>), so a server (a container,
/// say) is ready without any clicking: with <see cref="Email"/> and <see cref="Password"/> set and no user of
/// that email, the admin is created; an existing user is left as it is (change the password in the dashboard).
/// </summary>
public sealed class AdminBootstrapOptions
{
    public string? Email { get; set; }

    public string? Password { get; set; }

    /// <summary>The admin's display name; default: the part of the email before '@'.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// An API token for that admin, stored (hashed) when the store does not know it yet, so scripts can use the
    /// JSON API from the first start: 32 to 128 letters, digits, '-' or '_'.
    /// </summary>
    public string? ApiToken { get; set; }
}

/// <summary>How sign-in behaves (<c>ErrorHub:Access</c>).</summary>
public sealed class AccessOptions
{
    /// <summary>Failed sign-ins in a row that lock an account (default 5).</summary>
    public int MaxFailedLogins { get; set; } = 5;

    /// <summary>How long a locked account stays locked (default 15 minutes).</summary>
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Failed sign-ins from one client address (an IPv4 address, an IPv6 /64) within <see cref="SignInFailureWindow"/>
    /// after which that address may not try again for the window's length, whatever the email (default 20; 0 turns it off).
    /// </summary>
    public int SignInFailuresPerAddress { get; set; } = 20;

    /// <summary>The window the failures of one address are counted in, and how long an address that reached the limit waits (default 15 minutes).</summary>
    public TimeSpan SignInFailureWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Dashboard tabs (Blazor circuits) one account may have open at once (default 100): each holds its pages' state in the
    /// server's memory, so one account's script opening circuits without end would take the server's memory.
    /// </summary>
    public int OpenTabsPerAccount { get; set; } = 100;

    /// <summary>How long an invitation link works (default 7 days).</summary>
    public TimeSpan InvitationLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a sign-in lasts without use; each use extends it (default 14 days).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(14);
}
