using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ErrorHub.Storage.Events;

namespace ErrorHub.Storage;

/// <summary>
/// The payload column of both stores: the whole normalized event as JSON, so an event reads back
/// complete even when the indexed columns only hold what queries filter and sort on.
/// </summary>
internal static class EventPayloadJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // UserRecord.Key is derived from the other fields; storing it would only invite disagreement.
        TypeInfoResolver = EventPayloadJsonContext.Default.WithAddedModifier(RemoveDerivedUserKey),
    };

    private static readonly JsonTypeInfo<ErrorEvent> EventTypeInfo =
        (JsonTypeInfo<ErrorEvent>)Options.GetTypeInfo(typeof(ErrorEvent));

    public static string Serialize(ErrorEvent errorEvent) => JsonSerializer.Serialize(errorEvent, EventTypeInfo);

    public static byte[] SerializeToUtf8Bytes(ErrorEvent errorEvent) => JsonSerializer.SerializeToUtf8Bytes(errorEvent, EventTypeInfo);

    public static void Serialize(Utf8JsonWriter writer, ErrorEvent errorEvent) => JsonSerializer.Serialize(writer, errorEvent, EventTypeInfo);

    public static ErrorEvent Deserialize(string json) =>
        JsonSerializer.Deserialize(json, EventTypeInfo) ?? throw new JsonException("The stored event payload is null.");

    public static ErrorEvent Deserialize(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, EventTypeInfo) ?? throw new JsonException("The stored event payload is null.");

    private static readonly JsonTypeInfo<IssueGrouping> GroupingTypeInfo =
        (JsonTypeInfo<IssueGrouping>)Options.GetTypeInfo(typeof(IssueGrouping));

    /// <summary>An issue's grouping as both stores keep it beside the first title; "" for none (a version-1 event).</summary>
    public static string SerializeGrouping(ErrorEvent errorEvent) =>
        IssueGrouping.Of(errorEvent) is { } grouping ? JsonSerializer.Serialize(grouping, GroupingTypeInfo) : "";

    /// <summary>Null for "" (an issue made by version 1); also null for what no version wrote, rather than an issue that cannot be shown.</summary>
    public static IssueGrouping? DeserializeGrouping(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(json, GroupingTypeInfo);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void RemoveDerivedUserKey(JsonTypeInfo typeInfo)
    {
        if (typeInfo.Type != typeof(UserRecord))
        {
            return;
        }

        for (var i = typeInfo.Properties.Count - 1; i >= 0; i--)
        {
            if (typeInfo.Properties[i].Name == "key")
            {
                typeInfo.Properties.RemoveAt(i);
            }
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorEvent))]
[JsonSerializable(typeof(IssueGrouping))]
internal sealed partial class EventPayloadJsonContext : JsonSerializerContext;
