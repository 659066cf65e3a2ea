using System.Text.Json.Serialization;

namespace ErrorHub.Ingestion.Http;

/// <summary>The 202 answer: how many events were stored.</summary>
internal sealed record IngestAccepted(int Accepted);

/// <summary>A 4xx/5xx answer: what is wrong and, for a bad body, which field.</summary>
internal sealed record IngestError(string Error, string? Field);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IngestAccepted))]
[JsonSerializable(typeof(IngestError))]
internal sealed partial class IngestJsonContext : JsonSerializerContext;
