using System.Runtime.ExceptionServices;
using ErrorHub.Ingestion;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>
/// The decoder as every decoding test calls it: each body is decoded and also validated
/// (<see cref="EventBatchDecoder.Validate"/>, what a request does with the journal on), and the two must agree: both accept
/// with the same count of events and the same drop report, or both refuse with the same field and problem. So every batch of
/// every decoding test also checks that validating refuses exactly what decoding refuses.
/// </summary>
internal static class DecoderModes
{
    /// <summary>Decodes <paramref name="body"/> (throwing what decoding throws) after checking that validating agrees.</summary>
    public static IncomingBatch DecodeAndValidate(this EventBatchDecoder decoder, ReadOnlyMemory<byte> body)
    {
        var (decoded, refused) = Outcome(() => decoder.Decode(body));
        ShouldAgree(decoder, body, decoded, refused);
        if (refused is not null)
        {
            ExceptionDispatchInfo.Throw(refused);
        }

        return decoded!;
    }

    /// <summary>Whether decoding accepts <paramref name="body"/>, after checking that validating agrees; the refusal, if any.</summary>
    public static BatchFormatException? Compare(this EventBatchDecoder decoder, ReadOnlyMemory<byte> body)
    {
        var (decoded, refused) = Outcome(() => decoder.Decode(body));
        ShouldAgree(decoder, body, decoded, refused);
        return refused;
    }

    private static void ShouldAgree(EventBatchDecoder decoder, ReadOnlyMemory<byte> body, IncomingBatch? decoded, BatchFormatException? decodeRefused)
    {
        var (validated, validateRefused) = Outcome(() => decoder.Validate(body));
        string? disagreement = (decodeRefused, validateRefused) switch
        {
            (null, not null) => $"decoding accepted {decoded!.Events.Count} events, validating refused: {validateRefused.Message}",
            (not null, null) => $"decoding refused ({decodeRefused.Message}), validating accepted {validated.EventCount} events",
            (not null, not null) when decodeRefused.Field != validateRefused.Field || decodeRefused.Problem != validateRefused.Problem =>
                $"both refused, differently: decoding '{decodeRefused.Message}', validating '{validateRefused.Message}'",
            (null, null) when validated.EventCount != decoded!.Events.Count =>
                $"validating counted {validated.EventCount} events, decoding made {decoded.Events.Count}",
            (null, null) when !SameDrops(validated.Dropped, decoded!.Dropped) => "the drop reports differ",
            _ => null,
        };

        if (disagreement is not null)
        {
            throw new Xunit.Sdk.XunitException($"validating disagrees with decoding: {disagreement}\nbody: {Convert.ToHexString(body.Span)}");
        }
    }

    private static bool SameDrops(IReadOnlyDictionary<string, long>? a, IReadOnlyDictionary<string, long>? b) =>
        a is null || b is null ? a is null && b is null : a.Count == b.Count && a.All(entry => b.TryGetValue(entry.Key, out var count) && count == entry.Value);

    private static (T? Value, BatchFormatException? Refused) Outcome<T>(Func<T> run)
    {
        try
        {
            return (run(), null);
        }
        catch (BatchFormatException refused)
        {
            return (default, refused);
        }
    }
}
