namespace ErrorHub.Server;

/// <summary>What makes an email and a password acceptable, in one place for the configuration and the dashboard's forms.</summary>
public static class AccessRules
{
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 256;

    /// <summary>Trimmed and lower-cased: how emails are stored and compared.</summary>
    public static string NormalizeEmail(string email)
    {
        ArgumentNullException.ThrowIfNull(email);
        return email.Trim().ToLowerInvariant();
    }

    /// <summary>Something, '@', something with a dot; no spaces, no control characters (NUL, escapes). The invitation link is the real check.</summary>
    public static bool IsEmail(string? email)
    {
        var value = email?.Trim();
        if (string.IsNullOrEmpty(value) || value.Length > 254 || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return false;
        }

        var at = value.LastIndexOf('@');
        return at > 0 && at < value.Length - 3 && value.IndexOf('.', at) > at + 1 && !value.EndsWith('.');
    }

    /// <summary>Why a password is refused ("must be at least 8 characters long"), or null.</summary>
    public static string? PasswordProblem(string? password) => password switch
    {
        null or { Length: < MinPasswordLength } => $"must be at least {MinPasswordLength} characters long",
        { Length: > MaxPasswordLength } => $"must be at most {MaxPasswordLength} characters long",
        _ when string.IsNullOrWhiteSpace(password) => "must not be only spaces",
        _ => null,
    };
}
