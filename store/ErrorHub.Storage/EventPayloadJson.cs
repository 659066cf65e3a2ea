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

    private static readonly JsonTypeInfo<IReadOnlyList<ExceptionRecord>> ExceptionsTypeInfo =
        (JsonTypeInfo<IReadOnlyList<ExceptionRecord>>)Options.GetTypeInfo(typeof(IReadOnlyList<ExceptionRecord>));

    /// <summary>The JSON of an event's <c>exceptions</c> property, byte for byte as <see cref="Serialize(Utf8JsonWriter, ErrorEvent)"/> writes it.</summary>
    public static void SerializeExceptions(Utf8JsonWriter writer, IReadOnlyList<ExceptionRecord> exceptions) =>
        JsonSerializer.Serialize(writer, exceptions, ExceptionsTypeInfo);

    /// <summary>
    /// The same JSON as <see cref="Serialize(Utf8JsonWriter, ErrorEvent)"/>, with <paramref name="exceptionsJson"/> (what
    /// <see cref="SerializeExceptions"/> wrote for a chain equal to the event's) copied in place of its <c>exceptions</c>.
    /// </summary>
    public static void Serialize(Utf8JsonWriter writer, ErrorEvent errorEvent, byte[] exceptionsJson)
    {
        RawExceptionsConverter.Current = (errorEvent.Exceptions, exceptionsJson);
        try
        {
            JsonSerializer.Serialize(writer, errorEvent, EventWithRawExceptionsTypeInfo);
        }
        finally
        {
            RawExceptionsConverter.Current = null;
        }
    }

    private static readonly JsonTypeInfo<ErrorEvent> EventWithRawExceptionsTypeInfo = (JsonTypeInfo<ErrorEvent>)new JsonSerializerOptions(Options)
    {
        TypeInfoResolver = EventPayloadJsonContext.Default.WithAddedModifier(RemoveDerivedUserKey).WithAddedModifier(CopyRawExceptions),
    }.GetTypeInfo(typeof(ErrorEvent));

    private static void CopyRawExceptions(JsonTypeInfo typeInfo)
    {
        if (typeInfo.Type != typeof(ErrorEvent))
        {
            return;
        }

        foreach (var property in typeInfo.Properties)
        {
            if (property.Name == "exceptions")
            {
                property.CustomConverter = new RawExceptionsConverter();
            }
        }
    }

    /// <summary>Writes the bytes set for the list being written, the list's own JSON for any other; written only, never read.</summary>
    private sealed class RawExceptionsConverter : JsonConverter<IReadOnlyList<ExceptionRecord>>
    {
        [ThreadStatic] internal static (IReadOnlyList<ExceptionRecord> For, byte[] Json)? Current;

        public override IReadOnlyList<ExceptionRecord>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            JsonSerializer.Deserialize(ref reader, ExceptionsTypeInfo);

        public override void Write(Utf8JsonWriter writer, IReadOnlyList<ExceptionRecord> value, JsonSerializerOptions options)
        {
            if (Current is { } raw && ReferenceEquals(raw.For, value))
            {
                writer.WriteRawValue(raw.Json, skipInputValidation: true);
            }
            else
            {
                JsonSerializer.Serialize(writer, value, ExceptionsTypeInfo);
            }
        }
    }

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
