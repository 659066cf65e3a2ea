using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Stored payloads outlive releases: events written today must stay readable.</summary>
public sealed class EventPayloadJsonTests
{
    private const string StoredPayload = """
        {"eventId":"5f0c2f5e-3d1a-4b8e-9a51-2f4e1c9d7a10","projectId":3,
         "timestamp":"2025-03-14T09:00:00.123+00:00","receivedAt":"2025-03-14T09:00:01+00:00",
         "fingerprint":"fp","groupingVersion":2,"level":"error","title":"T","culprit":"C",
         "release":"1.0",
         "exceptions":[{"type":"System.Exception","value":"boom","frames":[{"function":"M","type":"N.T","line":7,"inApp":true}]}],
         "request":{"method":"GET","url":"https://x/","headers":{"Accept":"*/*"}},
         "user":{"id":"42","email":"a@b.c"},
         "tags":{"k":"v"},
         "sdk":{"name":"errorhub.dotnet","version":"0.1.0"}}
        """;

    [Fact]
    public void A_payload_in_the_stored_format_reads_back()
    {
        var e = EventPayloadJson.Deserialize(StoredPayload);

        e.Should().BeEquivalentTo(new ErrorEvent
        {
            EventId = Guid.Parse("5f0c2f5e-3d1a-4b8e-9a51-2f4e1c9d7a10"),
            ProjectId = 3,
            Timestamp = new DateTimeOffset(2025, 3, 14, 9, 0, 0, 123, TimeSpan.Zero),
            ReceivedAt = new DateTimeOffset(2025, 3, 14, 9, 0, 1, TimeSpan.Zero),
            Fingerprint = "fp",
            GroupingVersion = 2,
            Title = "T",
            Culprit = "C",
            Release = "1.0",
            Exceptions = [new ExceptionRecord("System.Exception", "boom", null, [new FrameRecord("M", "N.T", null, null, 7, null, true)])],
            Request = new RequestRecord("GET", "https://x/", null, new Dictionary<string, string> { ["Accept"] = "*/*" }),
            User = new UserRecord("42", null, "a@b.c", null),
            Tags = new Dictionary<string, string> { ["k"] = "v" },
            Sdk = new NameVersion("errorhub.dotnet", "0.1.0"),
        });
    }

    [Fact]
    public void A_payload_stored_before_grouping_version_2_has_no_grouping_components_and_no_legacy_fingerprint()
    {
        var e = EventPayloadJson.Deserialize(StoredPayload);

        e.GroupingComponents.Should().NotBeNull().And.BeEmpty();
        e.LegacyFingerprint.Should().BeNull();
        e.TitleWrapper.Should().BeNull();
    }

    [Fact]
    public void Grouping_components_legacy_fingerprint_and_title_wrapper_round_trip()
    {
        var e = TestEvents.Create(1, "fp", TestEvents.BaseTime) with
        {
            LegacyFingerprint = "legacy",
            TitleWrapper = "DbUpdateException",
            GroupingComponents = [new GroupingComponent("type", "SqliteException"), new GroupingComponent("wrapper", "DbUpdateException", Counts: false)],
        };

        var read = EventPayloadJson.Deserialize(EventPayloadJson.Serialize(e));

        read.LegacyFingerprint.Should().Be("legacy");
        read.TitleWrapper.Should().Be("DbUpdateException");
        read.GroupingComponents.Should().Equal(e.GroupingComponents);
    }

    [Fact]
    public void The_payload_uses_camel_case_names_leaves_out_nulls_and_the_derived_user_key()
    {
        var json = EventPayloadJson.Serialize(TestEvents.Create(1, "fp", TestEvents.BaseTime, new UserRecord("42", null, null, null)));

        json.Should().Contain("\"eventId\":").And.Contain("\"user\":{\"id\":\"42\"}");
        json.Should().NotContain("\"message\"").And.NotContain("\"key\"");
    }
}
