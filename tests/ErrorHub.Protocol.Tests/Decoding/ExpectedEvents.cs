using ErrorHub.Storage.Events;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Testing.Batches;
using static ErrorHub.Testing.Batches.SampleBatch;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>What <see cref="SampleBatch"/> must decode to, and the decoder as every test here calls it.</summary>
internal static class ExpectedEvents
{
    public const int ProjectId = 7;

    public static readonly DateTimeOffset ReceivedAt = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// What ingest makes of a body before grouping matters: decoded, then normalized (defaults, levels, times,
    /// the batch's SDK) into the events it stores. The grouping fields are ignored by <see cref="DecoderAssertions"/>.
    /// </summary>
    public static DecodedForTests Decode(ReadOnlyMemory<byte> body, IngestLimits? limits = null)
    {
        var batch = new EventBatchDecoder(limits ?? new IngestLimits()).DecodeAndValidate(body);
        var context = new BatchContext(ProjectId, ReceivedAt, batch.Sdk);
        return new DecodedForTests(
            batch.Version,
            batch.Sdk,
            [.. batch.Events.Select(e => new NormalizedForTests(EventNormalizer.Normalize(e, Grouper.Group(e), context), e.Fingerprint))]);
    }

    public static DecodedForTests Decode(WireMap batch, IngestLimits? limits = null) => Decode(Wire.Encode(batch), limits);

    /// <summary>
    /// The first event's time as the decoder read it, before normalizing decides what the server believes of it (a time far
    /// from <see cref="ReceivedAt"/> becomes the receive time there): for tests of how a time is read from the wire.
    /// </summary>
    public static DateTimeOffset? SentTime(WireMap batch) => SentTime(Wire.Encode(batch));

    /// <inheritdoc cref="SentTime(WireMap)"/>
    public static DateTimeOffset? SentTime(ReadOnlyMemory<byte> body) =>
        new EventBatchDecoder(new IngestLimits()).DecodeAndValidate(body).Events[0].Timestamp;

    public static readonly NameVersion BatchSdk = new("errorhub.dotnet", "0.1.0");

    public static FrameRecord ExpectedCheckoutFrame(int index) => index switch
    {
        0 => new FrameRecord("ValidateStock", "Shop.Inventory.StockService", "Shop", "/src/Shop/Inventory/StockService.cs", 88, 17, true),
        1 => new FrameRecord("Checkout", "Shop.Cart.CartService", "Shop", "/src/Shop/Cart/CartService.cs", 142, 9, true),
        2 => new FrameRecord("Invoke", "Microsoft.AspNetCore.Routing.EndpointMiddleware", "Microsoft.AspNetCore.Routing", null, null, null, false),
        _ => new FrameRecord("PostCheckout", "Shop.Api.CheckoutEndpoints", "Shop", "/src/Shop/Api/CheckoutEndpoints.cs", 31, 5, true),
    };

    public static ErrorEvent ExpectedCheckout() => new()
    {
        EventId = CheckoutEventId,
        ProjectId = ProjectId,
        Timestamp = CheckoutTime,
        ReceivedAt = ReceivedAt,
        Fingerprint = "",
        GroupingVersion = 0,
        Title = "",
        Level = "fatal",
        Platform = "csharp",
        Logger = "Shop.Cart.CartService",
        Release = "Shop@1.4.2+abc123",
        Environment = "production",
        ServerName = "web-01",
        Exceptions =
        [
            new ExceptionRecord("System.InvalidOperationException", "Checkout failed for bundle 'summer-kit'", "System.Private.CoreLib",
                [ExpectedCheckoutFrame(1), ExpectedCheckoutFrame(2), ExpectedCheckoutFrame(3)]),
            new ExceptionRecord("Shop.Inventory.OutOfStockException", "Item 4711 is out of stock\nwarehouse: north", "Shop",
                [ExpectedCheckoutFrame(0), ExpectedCheckoutFrame(1), ExpectedCheckoutFrame(2), ExpectedCheckoutFrame(3)]),
        ],
        Request = new RequestRecord("POST", "https://shop.example.com/api/checkout", "bundle=summer-kit&token=[Filtered]",
            new Dictionary<string, string> { ["User-Agent"] = "Mozilla/5.0", ["Authorization"] = "[Filtered]", ["Accept"] = "application/json" }),
        User = new UserRecord("u-1001", "ada", "ada@example.com", "203.0.113.9"),
        Tags = new Dictionary<string, string> { ["region"] = "eu-west", ["bundle"] = "summer-kit" },
        Runtime = new NameVersion(".NET", "10.0.12"),
        Os = new NameVersion("Linux", "6.1.0"),
        Sdk = BatchSdk,
    };

    public static ErrorEvent ExpectedTimeout() => new()
    {
        EventId = TimeoutEventId,
        ProjectId = ProjectId,
        Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1_795_255_000_250L),
        ReceivedAt = ReceivedAt,
        Fingerprint = "",
        GroupingVersion = 0,
        Title = "",
        Level = "error",
        Platform = "csharp",
        Exceptions =
        [
            new ExceptionRecord("System.Threading.Tasks.TaskCanceledException",
                "The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.", null,
                [new FrameRecord("SendAsync", "System.Net.Http.HttpClient", "System.Net.Http", null, null, null, false)]),
        ],
        User = new UserRecord("42", null, null, null),
        Tags = new Dictionary<string, string> { ["attempt"] = "3", ["cached"] = "false", ["ratio"] = "0.5" },
        Sdk = new NameVersion("errorhub.worker", "0.0.9"),
    };

    public static ErrorEvent ExpectedMessage() => new()
    {
        EventId = MessageEventId,
        ProjectId = ProjectId,
        Timestamp = new DateTimeOffset(2026, 11, 21, 8, 59, 0, 500, TimeSpan.Zero),
        ReceivedAt = ReceivedAt,
        Fingerprint = "",
        GroupingVersion = 0,
        Title = "",
        Level = "warning",
        Logger = "Shop.Payments",
        Message = "Payment provider answered 502 for order 99812",
        Sdk = BatchSdk,
    };
}

/// <summary>A batch as <see cref="ExpectedEvents.Decode(ReadOnlyMemory{byte}, IngestLimits?)"/> gives it.</summary>
internal sealed record DecodedForTests(int Version, NameVersion? Sdk, IReadOnlyList<NormalizedForTests> Events);

/// <summary>One stored event and the fingerprint its client sent.</summary>
internal sealed record NormalizedForTests(ErrorEvent Event, IReadOnlyList<string>? ClientFingerprint);
