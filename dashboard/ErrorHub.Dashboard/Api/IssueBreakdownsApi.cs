using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Serialization;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// An issue's events broken down by release, environment, browser, OS and server, as its page shows them
/// (docs/api.md): over the page's ranges, or between two times. Unlike the list's address, a parameter this endpoint
/// does not understand is refused with a 400 that says what it takes, so a script never reads the wrong counts.
/// </summary>
internal static class IssueBreakdownsApi
{
    public const int DefaultLimit = 10;

    /// <summary>The longest time parameter worth parsing (an ISO 8601 instant with fractions and offset is ~35).</summary>
    private const int MaxTimeLength = 64;

    public static void MapIssueBreakdownsApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/projects/{projectId:int}/issues/{fingerprint}/breakdowns", async (
            int projectId, string fingerprint, HttpRequest request, ClaimsPrincipal user, ProjectAccess access, IIssueReader issues, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            if (await access.VisibleProjectAsync(user, projectId, cancellationToken) is null || await issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is null)
            {
                return Results.Json(new AccessProblem($"there is no such issue in a project {projectId} that you may read"), BreakdownsJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status404NotFound);
            }

            var asked = Parse(request.Query, clock.GetUtcNow());
            if (asked.Problem is { } problem)
            {
                return Results.Json(new AccessProblem(problem), BreakdownsJsonContext.Default.AccessProblem, statusCode: StatusCodes.Status400BadRequest);
            }

            var query = new BreakdownQuery(projectId, fingerprint) { Since = asked.Since, Until = asked.Until, Limit = asked.Limit };
            var breakdowns = await issues.GetBreakdownsAsync(query, cancellationToken);
            return Results.Json(ApiBreakdowns.From(breakdowns, query.RangeStart, query.RangeEnd), BreakdownsJsonContext.Default.ApiBreakdowns); // the whole hours counted, so a script knows what it got
        });
    }

    internal sealed record Asked(DateTimeOffset? Since, DateTimeOffset? Until, int Limit, string? Problem = null);

    /// <summary>The parameters, or why they cannot be taken. Each may be given once.</summary>
    internal static Asked Parse(IQueryCollection query, DateTimeOffset now)
    {
        foreach (var name in new[] { "range", "since", "until", "limit" })
        {
            if (query[name].Count > 1)
            {
                return Problem($"{name} may be given once");
            }
        }

        var limit = DefaultLimit;
        if (query["limit"].ToString() is { Length: > 0 } limitText
            && !(int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= BreakdownQuery.MaxLimit))
        {
            return Problem($"limit (values per dimension) is 1 to {BreakdownQuery.MaxLimit}");
        }

        var rangeKey = query["range"].ToString();
        var sinceText = query["since"].ToString();
        var untilText = query["until"].ToString();
        if (rangeKey.Length > 0 && (sinceText.Length > 0 || untilText.Length > 0))
        {
            return Problem("give range, or since and/or until, not both");
        }

        if (rangeKey.Length > 0)
        {
            return EventsChart.Ranges.FirstOrDefault(range => range.Key == rangeKey) is { Span: { } span }
                ? new Asked(now - span, null, limit)
                : Problem($"range is one of {string.Join(", ", EventsChart.Ranges.Select(range => range.Key))} (without it: every event)");
        }

        DateTimeOffset? since = null, until = null;
        if (sinceText.Length > 0)
        {
            if (!TryTime(sinceText, out var parsed))
            {
                return Problem("since is a time in ISO 8601 with an offset, e.g. 2026-12-01T00:00:00Z");
            }

            since = parsed;
        }

        if (untilText.Length > 0)
        {
            if (!TryTime(untilText, out var parsed))
            {
                return Problem("until is a time in ISO 8601 with an offset, e.g. 2026-12-02T00:00:00Z");
            }

            until = parsed;
        }

        if (since is { } from && until is { } to && to <= from)
        {
            return Problem("until must be after since");
        }

        return new Asked(since, until, limit);
    }

    private static Asked Problem(string text) => new(null, null, DefaultLimit, text);

    /// <summary>An instant with its offset (a time without one would depend on the server's zone), within years a store keeps.</summary>
    private static bool TryTime(string text, out DateTimeOffset time)
    {
        time = default;
        return text.Length <= MaxTimeLength
            && (text.EndsWith('Z') || text.EndsWith('z') || HasOffset(text))
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time)
            && time.Year is >= 1970 and <= 2105;
    }

    private static bool HasOffset(string text)
    {
        var t = text.IndexOf('T', StringComparison.OrdinalIgnoreCase);
        return t > 0 && text.AsSpan(t).IndexOfAny('+', '-') > 0;
    }
}

/// <summary>An issue's breakdowns as the API answers them (dimension names in lowercase).</summary>
internal sealed record ApiBreakdowns(long Events, DateTimeOffset? Since, DateTimeOffset? Until, IReadOnlyList<ApiBreakdown> Dimensions)
{
    public static ApiBreakdowns From(IssueBreakdowns breakdowns, DateTimeOffset? since, DateTimeOffset? until) => new(
        breakdowns.Events,
        since,
        until,
        [.. breakdowns.Dimensions.Select(dimension => new ApiBreakdown(
            Name(dimension.Dimension),
            [.. dimension.Values.Select(value => new ApiBreakdownValue(value.Value, value.Count))],
            dimension.WithValue,
            dimension.WithValue - dimension.Values.Sum(value => value.Count),
            breakdowns.Events - dimension.WithValue))]);

    internal static string Name(BreakdownDimension dimension) => dimension switch
    {
        BreakdownDimension.Release => "release",
        BreakdownDimension.Environment => "environment",
        BreakdownDimension.Browser => "browser",
        BreakdownDimension.OperatingSystem => "os",
        BreakdownDimension.Server => "server",
        _ => dimension.ToString().ToLowerInvariant(),
    };
}

/// <summary>One dimension: its top values, the events that had a value, those beyond the top values, and those without one.</summary>
internal sealed record ApiBreakdown(string Dimension, IReadOnlyList<ApiBreakdownValue> Values, long WithValue, long Other, long None);

internal sealed record ApiBreakdownValue(string Value, long Events);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ApiBreakdowns))]
[JsonSerializable(typeof(AccessProblem))]
internal sealed partial class BreakdownsJsonContext : JsonSerializerContext;
