using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Internal;

/// <summary>
/// The app's logging scopes (<c>BeginScope</c>), handed over by the ErrorHub logger provider, so that events
/// captured on any path carry the scalar scope values as tags.
/// </summary>
internal sealed class LogScopes
{
    internal const int MaxTags = 20;

    public IExternalScopeProvider? Provider { get; set; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddTagsTo(ErrorHubEvent errorEvent)
    {
        if (Provider is not { } provider)
        {
            return;
        }

        var added = 0;
        provider.ForEachScope(
            [MethodImpl(MethodImplOptions.AggressiveOptimization)] (scope, target) =>
            {
                if (scope is not IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    return;
                }

                foreach (var (key, value) in pairs)
                {
                    if (added >= MaxTags || string.IsNullOrEmpty(key) || key == "{OriginalFormat}" || !IsScalar(value))
                    {
                        continue;
                    }

                    // Inner scopes come last and win.
                    target.Tags[ErrorHubScope.Cut(key)] = ErrorHubScope.Cut(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
                    added++;
                }
            },
            errorEvent);
    }

    private static bool IsScalar(object? value) =>
        value is string or char or bool or Guid or Enum or DateTime or DateTimeOffset or TimeSpan
        || (value is not null && value.GetType().IsPrimitive) || value is decimal;
}
