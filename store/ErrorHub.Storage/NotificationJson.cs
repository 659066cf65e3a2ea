using System.Text.Json;
using System.Text.Json.Serialization;

namespace ErrorHub.Storage;

/// <summary>The payload column of notifications in both stores: the whole record as JSON.</summary>
internal static class NotificationJson
{
    public static string Serialize(Notification notification) =>
        JsonSerializer.Serialize(notification, NotificationJsonContext.Default.Notification);

    public static Notification Deserialize(string json) =>
        JsonSerializer.Deserialize(json, NotificationJsonContext.Default.Notification) ?? throw new JsonException("The stored notification is null.");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Notification))]
internal sealed partial class NotificationJsonContext : JsonSerializerContext;
