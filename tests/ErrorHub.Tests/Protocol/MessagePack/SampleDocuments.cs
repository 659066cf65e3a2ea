namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>Realistic documents: what the SDK sends for one captured exception.</summary>
internal static class SampleDocuments
{
    public static MpValue ErrorEvent()
    {
        static (MpValue, MpValue) Entry(string key, MpValue value) => (MpValue.Str(key), value);

        static MpValue Frame(string function, string file, int line, bool inApp) => MpValue.Map(
            Entry("function", MpValue.Str(function)),
            Entry("file", MpValue.Str(file)),
            Entry("line", MpValue.Int(line)),
            Entry("column", MpValue.Int(17)),
            Entry("in_app", MpValue.Bool(inApp)),
            Entry("il_offset", MpValue.Int(0x1f4)));

        return MpValue.Map(
            Entry("event_id", MpValue.Bin(Convert.FromHexString("3f2a9c1e8b7d4e0fa1b2c3d4e5f60718"))),
            Entry("timestamp", MpValue.Timestamp(new DateTimeOffset(2026, 11, 21, 9, 30, 15, 123, TimeSpan.Zero).AddTicks(4567))),
            Entry("level", MpValue.Str("error")),
            Entry("platform", MpValue.Str("csharp")),
            Entry("release", MpValue.Str("shop@1.4.2+9f1c2e")),
            Entry("environment", MpValue.Str("production")),
            Entry("message", MpValue.Str("Die Bestellung konnte nicht gespeichert werden — 注文を保存できませんでした 😞")),
            Entry("exception", MpValue.Array(MpValue.Map(
                Entry("type", MpValue.Str("System.InvalidOperationException")),
                Entry("value", MpValue.Str("Sequence contains no elements")),
                Entry("hresult", MpValue.Int(unchecked((int)0x80131509))),
                Entry("frames", MpValue.Array(
                    Frame("Shop.Orders.OrderService.SaveAsync(Order order, CancellationToken ct)", "/src/Shop/Orders/OrderService.cs", 128, true),
                    Frame("System.Linq.Enumerable.First[TSource](IEnumerable`1 source)", string.Empty, 0, false),
                    Frame("Shop.Api.OrdersEndpoint.Post(OrderDto dto)", "/src/Shop.Api/OrdersEndpoint.cs", 42, true)))))),
            Entry("tags", MpValue.Map(
                Entry("http.method", MpValue.Str("POST")),
                Entry("http.route", MpValue.Str("/api/orders/{id}")),
                Entry("server", MpValue.Str("web-03")))),
            Entry("measurements", MpValue.Map(
                Entry("duration_ms", MpValue.Float64(12.625)),
                Entry("memory_mb", MpValue.Float32(183.5f)),
                Entry("allocated", MpValue.Int(5_368_709_120)),
                Entry("gc_gen2", MpValue.Int(ulong.MaxValue)))),
            Entry("user", MpValue.Nil),
            Entry("fingerprint", MpValue.Array(MpValue.Str("{{ default }}"), MpValue.Str("orders"))),
            Entry("attachment", MpValue.Ext(3, Enumerable.Range(0, 40).Select(i => (byte)(i * 13)).ToArray())),
            Entry("breadcrumbs", MpValue.Array(
                MpValue.Map(
                    Entry("at", MpValue.Timestamp(new DateTimeOffset(2026, 11, 21, 9, 30, 14, TimeSpan.Zero))),
                    Entry("message", MpValue.Str("GET /api/orders"))),
                MpValue.Map(
                    Entry("at", MpValue.Timestamp(new DateTimeOffset(1969, 12, 31, 23, 59, 59, 500, TimeSpan.Zero))),
                    Entry("message", MpValue.Str("clock skew"))))));
    }
}
