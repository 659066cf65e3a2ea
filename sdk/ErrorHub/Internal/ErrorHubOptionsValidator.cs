using Microsoft.Extensions.Options;

namespace ErrorHub.Internal;

/// <summary>Fails start-up on settings that are present but wrong; a missing DSN only disables the SDK.</summary>
internal sealed class ErrorHubOptionsValidator : IValidateOptions<ErrorHubOptions>
{
    public ValidateOptionsResult Validate(string? name, ErrorHubOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Dsn) && !Dsn.TryParse(options.Dsn, out _, out var error))
        {
            failures.Add($"ErrorHub:Dsn is not valid: {error}.");
        }

        if (options.MaxQueueSize is < 1 or > 1_000_000)
        {
            failures.Add("ErrorHub:MaxQueueSize must be between 1 and 1000000.");
        }

        if (options.MaxBatchSize is < 1 or > 1000)
        {
            failures.Add("ErrorHub:MaxBatchSize must be between 1 and 1000.");
        }

        if (options.MaxBatchBytes is < 1024 or > 64 * 1024 * 1024)
        {
            failures.Add("ErrorHub:MaxBatchBytes must be between 1024 and 67108864.");
        }

        if (options.BatchDelay < TimeSpan.Zero || options.BatchDelay > TimeSpan.FromMinutes(1))
        {
            failures.Add("ErrorHub:BatchDelay must be between 0 and 1 minute.");
        }

        if (options.MaxCacheBytes < 64 * 1024)
        {
            failures.Add("ErrorHub:MaxCacheBytes must be at least 65536.");
        }

        // Past a day a timer cannot be set (about 49 days) or the deadline overflows: the send or the app's stop would fail.
        if (options.SendTimeout <= TimeSpan.Zero || options.SendTimeout > TimeSpan.FromDays(1)
            || options.ShutdownTimeout < TimeSpan.Zero || options.ShutdownTimeout > TimeSpan.FromDays(1))
        {
            failures.Add("ErrorHub:SendTimeout must be positive and ErrorHub:ShutdownTimeout not negative, both at most 1 day.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
