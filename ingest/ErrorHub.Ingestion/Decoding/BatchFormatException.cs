namespace ErrorHub.Ingestion.Decoding;

/// <summary>A request body that is not a valid batch; the message names the field and says what is wrong.</summary>
public sealed class BatchFormatException(string field, string problem) : FormatException(field.Length == 0 ? problem : $"{field}: {problem}")
{
    /// <summary>Path of the offending field, e.g. <c>events[2].exceptions[0].type</c>; empty for the whole body.</summary>
    public string Field { get; } = field;

    public string Problem { get; } = problem;
}
