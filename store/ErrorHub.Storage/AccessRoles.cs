namespace ErrorHub.Storage;

/// <summary>How roles are written in both stores: lower-case words, so the data reads well and survives enum changes.</summary>
internal static class AccessRoles
{
    public static string ToText(UserRole role) => role switch
    {
        UserRole.Admin => "admin",
        UserRole.Member => "member",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown role."),
    };

    /// <summary>Anything unknown reads as the least privileged role.</summary>
    public static UserRole FromText(string? text) => text == "admin" ? UserRole.Admin : UserRole.Member;

    public static string ProjectIdsToText(IReadOnlyList<int> projectIds) =>
        string.Join(',', projectIds.Select(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public static IReadOnlyList<int> ProjectIdsFromText(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(id => int.Parse(id, System.Globalization.CultureInfo.InvariantCulture))];

    public static DateTimeOffset ToWholeSeconds(DateTimeOffset value) => DateTimeOffset.FromUnixTimeSeconds(value.ToUnixTimeSeconds());
}
