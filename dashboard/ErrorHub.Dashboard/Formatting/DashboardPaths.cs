namespace ErrorHub.Dashboard.Formatting;

/// <summary>The dashboard's links in one place; relative to the document base, so a path base keeps working.</summary>
internal static class DashboardPaths
{
    public static string Issues(int projectId) => FormattableString.Invariant($"projects/{projectId}/issues");

    public static string Issue(int projectId, string fingerprint) =>
        FormattableString.Invariant($"projects/{projectId}/issues/{Uri.EscapeDataString(fingerprint)}");

    public static string ProjectSettings(int projectId) => FormattableString.Invariant($"projects/{projectId}/settings");

    public static string ProjectAlerts(int projectId) => FormattableString.Invariant($"projects/{projectId}/alerts");

    public static string Releases(int projectId) => FormattableString.Invariant($"projects/{projectId}/releases");

    public static string Invitation(string secret) => "invitations/" + Uri.EscapeDataString(secret);

    public static string PasswordReset(string secret) => "password-reset/" + Uri.EscapeDataString(secret);

    /// <summary>The issue's affected users as CSV (only those matching <paramref name="search"/>, when given).</summary>
    public static string AffectedUsersCsv(int projectId, string fingerprint, string? search = null) =>
        Issue(projectId, fingerprint) + "/users.csv" + (string.IsNullOrEmpty(search) ? "" : "?q=" + Uri.EscapeDataString(search));

    public static string Event(int projectId, string fingerprint, Guid eventId) =>
        FormattableString.Invariant($"{Issue(projectId, fingerprint)}?event={eventId:N}");
}
