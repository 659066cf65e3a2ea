using System.Buffers;
using System.Text;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Testing;
using ErrorHub.Testing.Batches;
using ErrorHub.Transport;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Protocol.Tests.Writing;

/// <summary>
/// Freezes the exact bytes the SDK writes for a batch (docs/protocol.md): servers and foreign clients rely
/// on them, so any change must be a deliberate protocol decision. The snapshot predates the move to
/// MessagePack-CSharp's writer and still holds: str8 for 32 to 255 bytes, the smallest integer and timestamp forms.
/// </summary>
public sealed class WireSnapshotTests
{
    [Fact]
    public void A_full_event_is_written_exactly_as_the_snapshot_says()
    {
        var bytes = Encode(FullEvent());

        Snapshot.Verify(HexDump(bytes), "full-event.msgpack");
    }

    [Fact]
    public void A_batch_with_drop_counts_is_written_exactly_as_the_snapshot_says()
    {
        // Protocol 1, extended deliberately: the optional "dropped" map comes before "events"; servers that predate it skip it.
        var minimal = new ErrorHubEvent
        {
            EventId = Guid.Parse("00000000-0000-0000-0000-000000000002"),
            Timestamp = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            Message = "after an outage",
        };
        var buffer = new ArrayBufferWriter<byte>();
        var encodedEvent = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteEvent(encodedEvent, minimal);
        EventWireWriter.WriteBatch(buffer, [encodedEvent.WrittenSpan.ToArray()], [new("queue_full", 1200), new("before_send", 3)], new NameAndVersion("errorhub.dotnet", "1.0.0"));

        Snapshot.Verify(HexDump(buffer.WrittenSpan.ToArray()), "batch-with-drops.msgpack");
        var batch = Wire.Read(buffer.WrittenMemory).AsMap();
        batch.Keys.Should().Equal("v", "sdk", "dropped", "events");
        batch["dropped"].AsMap().Entries.Should().Equal(("queue_full", (object)1200L), ("before_send", (object)3L));
    }

    [Fact]
    public void A_batch_without_drops_has_no_dropped_field_and_is_byte_for_byte_the_batch_of_events_written_directly()
    {
        var encodedEvent = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteEvent(encodedEvent, FullEvent());
        var buffer = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteBatch(buffer, [encodedEvent.WrittenSpan.ToArray()], [], new NameAndVersion("errorhub.dotnet", "1.0.0"));

        buffer.WrittenSpan.ToArray().Should().Equal(Encode(FullEvent()));
    }

    [Fact]
    public void A_packages_frame_keeps_in_app_as_before_and_says_package_so_servers_before_version_9_group_it_as_they_did()
    {
        // Protocol 1, extended deliberately: "package" comes last in the frame's map, only when true; servers that predate it skip it.
        var e = new ErrorHubEvent
        {
            EventId = Guid.Parse("00000000-0000-0000-0000-000000000003"),
            Timestamp = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
        };
        var refused = new ExceptionEntry { Type = "RDNET.RealDebridException", Value = "infringing_file" };
        refused.Frames.Add(new StackFrameEntry { Function = "Send", Type = "RDNET.Requests.Request", Module = "RDNET", InApp = false, FromPackage = true });
        refused.Frames.Add(new StackFrameEntry { Function = "AddMagnet", Type = "RdtClient.TorrentClient", Module = "RdtClient", InApp = true });
        refused.Frames.Add(new StackFrameEntry { Function = "Charge", Type = "Acme.Payments.Client", Module = "Acme.Payments", InApp = true, FromPackage = true });
        e.Exceptions.Add(refused);

        var frames = Wire.Read(Encode(e)).AsMap()["events"].AsList()[0].AsMap()["exceptions"].AsList()[0].AsMap()["frames"].AsList();

        frames[0].AsMap().Keys.Should().Equal("function", "type", "module", "in_app", "package");
        frames[0].AsMap()["in_app"].Should().Be(true);
        frames[0].AsMap()["package"].Should().Be(true);
        frames[1].AsMap().Keys.Should().Equal("function", "type", "module", "in_app");
        frames[2].AsMap().Keys.Should().Equal(["function", "type", "module", "in_app"], "the app's BeforeSend marked it in-app: no package field");

        // Ingest reads the package's frame as no app frame, and keeps what versions before 9 read (docs/grouping.md, "Version 9").
        var decoded = new EventBatchDecoder(new IngestLimits()).Decode(Encode(e)).Events[0].Exceptions[0].Frames;
        decoded.Select(f => (f.InApp, f.Package)).Should().Equal((false, true), (true, false), (true, false));
    }

    [Fact]
    public void A_minimal_message_event_leaves_out_every_absent_field()
    {
        var minimal = new ErrorHubEvent
        {
            EventId = Guid.Parse("00000000-0000-0000-0000-000000000001"),
            Timestamp = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            Level = ErrorHubLevel.Warning,
            Message = "disk almost full",
        };

        var batch = Wire.Read(Encode(minimal)).AsMap();
        var e = batch["events"].AsList().Should().ContainSingle().Subject.AsMap();

        e.Keys.Should().BeEquivalentTo("event_id", "timestamp", "level", "platform", "message");
        e["event_id"].Should().Be("00000000000000000000000000000001");
        e["timestamp"].Should().Be(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        e["level"].Should().Be("warning");
        e["platform"].Should().Be("csharp");
    }

    [Fact]
    public void The_full_event_reads_back_with_the_field_names_of_the_protocol()
    {
        var e = Wire.Read(Encode(FullEvent())).AsMap()["events"].AsList()[0].AsMap();

        e.Keys.Should().BeEquivalentTo(
            "event_id", "timestamp", "level", "platform", "message", "logger", "release", "environment", "server_name",
            "fingerprint", "exceptions", "request", "user", "tags", "runtime", "os");
        var frame = e["exceptions"].AsList()[0].AsMap()["frames"].AsList()[1].AsMap();
        frame.Keys.Should().BeEquivalentTo("function", "type", "module", "file", "line", "column", "in_app");
        e["request"].AsMap().Keys.Should().BeEquivalentTo("method", "url", "query_string", "headers");
        e["user"].AsMap().Keys.Should().BeEquivalentTo("id", "username", "email", "ip_address");
    }

    internal static byte[] Encode(ErrorHubEvent errorEvent)
    {
        var buffer = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteBatch(buffer, [errorEvent], new NameAndVersion("errorhub.dotnet", "1.0.0"));
        return buffer.WrittenSpan.ToArray();
    }

    internal static ErrorHubEvent FullEvent()
    {
        var e = new ErrorHubEvent
        {
            EventId = Guid.Parse("6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"),
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1_763_600_000_123),
            Level = ErrorHubLevel.Error,
            Message = "checkout failed",
            Logger = "Shop.Checkout",
            Release = "Shop@1.4.2",
            Environment = "production",
            ServerName = "web-1",
            Fingerprint = ["checkout", "{{ default }}"],
            Request = new RequestInfo { Method = "POST", Url = "https://shop.example/checkout", QueryString = "bundle=holiday" },
            User = new UserInfo { Id = "42", Username = "alice", Email = "alice@shop.example", IpAddress = "203.0.113.7" },
            Runtime = new NameAndVersion(".NET", "10.0.12"),
            OperatingSystem = new NameAndVersion("Linux", "6.1.0"),
        };
        e.Request.Headers["Accept"] = "text/html";
        e.Request.Headers["Authorization"] = "[Filtered]";
        e.Tags["region"] = "eu";
        var outer = new ExceptionEntry { Type = "System.InvalidOperationException", Value = "Sequence contains more than one matching element", Module = "System.Linq" };
        outer.Frames.Add(new StackFrameEntry { Function = "Single", Type = "System.Linq.Enumerable", Module = "System.Linq", InApp = false });
        outer.Frames.Add(new StackFrameEntry
        {
            Function = "PriceBundle", Type = "Shop.Catalog", Module = "Shop", File = "/src/Shop/Catalog.cs", Line = 31, Column = 9, InApp = true,
        });
        e.Exceptions.Add(outer);
        e.Exceptions.Add(new ExceptionEntry { Type = "System.TimeoutException", Value = "élan ✓ 🚀" });
        return e;
    }

    private static string HexDump(byte[] bytes)
    {
        var text = new StringBuilder();
        for (var offset = 0; offset < bytes.Length; offset += 32)
        {
            var line = bytes.AsSpan(offset, Math.Min(32, bytes.Length - offset));
            text.Append(offset.ToString("x4")).Append(": ").Append(Convert.ToHexStringLower(line)).Append('\n');
        }

        return text.ToString();
    }
}
