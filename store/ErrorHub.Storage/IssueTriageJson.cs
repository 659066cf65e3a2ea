using System.Text.Json;
using System.Text.Json.Serialization;

namespace ErrorHub.Storage;

/// <summary>
/// The triage details of an <see cref="IssueState"/> beyond its status (ignore conditions, "next release",
/// assignee) as one JSON column in both stores: they are read and written whole. The one look inside: whether an ignore
/// ends with events or users (<see cref="IgnoredUntilEventsField"/>, <see cref="IgnoredUntilUsersField"/> present), which
/// triage asks the stores to find without reading the events of issues ignored for good, and the "next release"
/// (<see cref="ResolvedAfterReleaseField"/>), which the releases page asks for by release.
/// </summary>
internal static class IssueTriageJson
{
    public const string IgnoredUntilEventsField = "ignoredUntilEvents";
    public const string IgnoredUntilUsersField = "ignoredUntilUsers";
    public const string IgnoredUntilField = "ignoredUntil";
    public const string AssigneeIdField = "assigneeId";
    public const string ResolvedAfterReleaseField = "resolvedAfterRelease";

    public static string Serialize(IssueState state)
    {
        var details = new IssueTriageDetails(
            state.ResolvedAfterRelease,
            state.IgnoredUntil?.ToUnixTimeSeconds(),
            state.IgnoredUntilEvents,
            state.IgnoredUntilUsers,
            state.AssigneeId,
            state.Actions,
            Entry: null,
            Entries: state.Entries.Count == 0 ? null : [.. state.Entries.Select(entry => new IssueTriageEntry(entry.Id, entry.At.ToUnixTimeMilliseconds(), entry.Kind, entry.ActorId, entry.ActorName, entry.Text, entry.Value)
            {
                Fingerprint = entry.Fingerprint == state.Fingerprint ? null : entry.Fingerprint,
            })]);
        return details == IssueTriageDetails.None ? "" : JsonSerializer.Serialize(details, IssueTriageJsonContext.Default.IssueTriageDetails);
    }

    /// <summary><paramref name="value"/> as <see cref="Serialize"/> writes a string field's value: quoted and escaped.</summary>
    public static string StringToken(string value) => JsonSerializer.Serialize(value, IssueTriageJsonContext.Default.String);

    /// <summary>The string a <see cref="StringToken"/> holds; null when <paramref name="token"/> is not a JSON string.</summary>
    public static string? ReadStringToken(string token)
    {
        if (!token.StartsWith('"'))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(token, IssueTriageJsonContext.Default.String);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary><paramref name="state"/> with the details in <paramref name="json"/> (empty or unreadable: none).</summary>
    public static IssueState Apply(IssueState state, string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return state;
        }

        IssueTriageDetails? details;
        try
        {
            details = JsonSerializer.Deserialize(json, IssueTriageJsonContext.Default.IssueTriageDetails);
        }
        catch (JsonException)
        {
            // A value of another type (a hand edit, an older server): the fields that read stay, so one bad value
            // does not take the assignee, the ignore and the whole timeline with it.
            details = ReadFieldByField(json);
        }

        return details is null ? state : state with
        {
            ResolvedAfterRelease = details.ResolvedAfterRelease,
            IgnoredUntil = details.IgnoredUntil is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null,
            IgnoredUntilEvents = details.IgnoredUntilEvents,
            IgnoredUntilUsers = details.IgnoredUntilUsers,
            AssigneeId = details.AssigneeId,
            Actions = details.Actions,
            // "entry": the one entry a state kept until December 2026.
            Entries = new IssueEntries((details.Entries ?? (details.Entry is { } single ? [single] : [])).Where(entry => entry is not null).Select(entry =>
                new IssueChange(state.ProjectId, entry.Fingerprint ?? state.Fingerprint, entry.Id, DateTimeOffset.FromUnixTimeMilliseconds(entry.At), entry.Kind, entry.ActorId, entry.ActorName ?? "")
                {
                    Text = entry.Text ?? "",
                    Value = entry.Value ?? "",
                })),
        };
    }

    private static IssueTriageDetails? ReadFieldByField(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var context = IssueTriageJsonContext.Default;
            List<IssueTriageEntry>? entries = null;
            if (root.TryGetProperty("entries", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                entries = [.. list.EnumerateArray().Select(item => Field(item, context.IssueTriageEntry)).OfType<IssueTriageEntry>()];
            }

            return new IssueTriageDetails(
                Field(root, ResolvedAfterReleaseField, context.String),
                Field(root, IgnoredUntilField, context.NullableInt64),
                Field(root, IgnoredUntilEventsField, context.NullableInt64),
                Field(root, IgnoredUntilUsersField, context.NullableInt64),
                Field(root, AssigneeIdField, context.NullableGuid),
                Field(root, "actions", context.String),
                Field(root, "entry", context.IssueTriageEntry),
                entries);
        }
    }

    private static T? Field<T>(JsonElement root, string name, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        root.TryGetProperty(name, out var element) ? Field(element, type) : default;

    private static T? Field<T>(JsonElement element, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return element.Deserialize(type);
        }
        catch (JsonException)
        {
            return default;
        }
    }
}

internal sealed record IssueTriageDetails(
    [property: JsonPropertyName(IssueTriageJson.ResolvedAfterReleaseField)] string? ResolvedAfterRelease,
    [property: JsonPropertyName(IssueTriageJson.IgnoredUntilField)] long? IgnoredUntil,
    [property: JsonPropertyName(IssueTriageJson.IgnoredUntilEventsField)] long? IgnoredUntilEvents,
    [property: JsonPropertyName(IssueTriageJson.IgnoredUntilUsersField)] long? IgnoredUntilUsers,
    [property: JsonPropertyName(IssueTriageJson.AssigneeIdField)] Guid? AssigneeId,
    string? Actions,
    IssueTriageEntry? Entry = null,
    IReadOnlyList<IssueTriageEntry>? Entries = null)
{
    public static readonly IssueTriageDetails None = new(null, null, null, null, null, null);
}

/// <summary>A timeline entry kept with a state (<see cref="IssueState.Entries"/>); its time in Unix milliseconds, its issue when not the state's (a merge's other side).</summary>
internal sealed record IssueTriageEntry(Guid Id, long At, IssueChangeKind Kind, Guid? ActorId, string? ActorName, string? Text, string? Value)
{
    public string? Fingerprint { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IssueTriageDetails))]
[JsonSerializable(typeof(string))]
internal sealed partial class IssueTriageJsonContext : JsonSerializerContext;
