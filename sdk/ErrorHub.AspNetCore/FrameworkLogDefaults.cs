using ErrorHub.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.AspNetCore;

/// <summary>
/// The ErrorHub logger provider's default levels for ASP.NET Core's own categories, those of the web template:
/// <c>Microsoft.AspNetCore</c> from Warning up, and nothing from <c>Microsoft.AspNetCore.Hosting.Diagnostics</c>.
/// ASP.NET Core writes Information entries on every request ("Request starting", "Executing endpoint", ...), and once
/// any provider listens to hosting, hosting starts an <c>Activity</c> and a log scope for every request; in an app
/// with no other logging that alone made plain requests about twice as expensive (docs/benchmarks.md, section 10).
/// Errors of these categories still reach the provider: the exception handler's and Kestrel's "unhandled exception"
/// entries are Error. The app's own <c>Logging:ErrorHub:LogLevel</c> rules for the same categories win: these rules are
/// put first, and of two equally specific rules the later one applies.
/// </summary>
internal sealed class FrameworkLogDefaults : IConfigureOptions<LoggerFilterOptions>
{
    private static readonly string Provider = typeof(ErrorHubLoggerProvider).FullName!;

    public void Configure(LoggerFilterOptions options)
    {
        options.Rules.Insert(0, new LoggerFilterRule(Provider, "Microsoft.AspNetCore", LogLevel.Warning, filter: null));
        options.Rules.Insert(1, new LoggerFilterRule(Provider, "Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None, filter: null));
    }
}
