namespace ErrorHub.Dashboard.Components.Account;

internal sealed class LoginInput
{
    public string? Email { get; set; }

    public string? Password { get; set; }
}

internal sealed class NewAccountInput
{
    public string? Email { get; set; }

    public string? Name { get; set; }

    public string? Password { get; set; }

    public string? ConfirmPassword { get; set; }

    /// <summary>The secret from the link, posted back with the form.</summary>
    public string? Token { get; set; }

    public string? Problem()
    {
        if (Password != ConfirmPassword)
        {
            return "The two passwords differ.";
        }

        return null;
    }
}

internal sealed class PasswordInput
{
    public string? CurrentPassword { get; set; }

    public string? NewPassword { get; set; }

    public string? ConfirmPassword { get; set; }
}

internal sealed class TokenInput
{
    public string? Name { get; set; }

    public string? TokenId { get; set; }
}

internal sealed class NewPasswordInput
{
    public string? Password { get; set; }

    public string? ConfirmPassword { get; set; }
}

internal sealed class ForgotPasswordInput
{
    public string? Email { get; set; }
}
