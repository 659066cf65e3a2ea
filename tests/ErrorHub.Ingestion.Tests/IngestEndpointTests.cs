using System.Net;
using System.Net.Http.Headers;
using ErrorHub.Storage.Events;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary><c>POST /api/{projectId}/events</c> over real HTTP, into a real SQLite store.</summary>
public sealed class IngestEndpointTests(IngestHostFixture fixture) : IClassFixture<IngestHostFixture>
{
    private IngestHost Host => fixture.Host;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_valid_batch_is_answered_202_with_the_count_after_its_events_are_in_the_store(bool gzip)
    {
        var (batch, ids) = WithFreshIds();
        var body = Encode(batch);

        using var response = await Host.PostAsync(body, gzip);

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await response.Content.ReadAsStringAsync()).Should().Be("""{"accepted":3}""");
        var stored = new List<ErrorEvent>();
        foreach (var id in ids)
        {
            stored.Add((await Host.Issues.GetEventAsync(IngestHost.ProjectId, id))!);
        }

        // Exactly what decoding and grouping make of the body, with the time the server received it.
        var decoded = new EventBatchDecoder(new IngestLimits()).Decode(body);
        var context = new BatchContext(IngestHost.ProjectId, stored[0].ReceivedAt, decoded.Sdk);
        var expected = decoded.Events.Select(e => EventNormalizer.Normalize(e, Grouper.Group(e), context)).ToArray();
        stored.ShouldMatch(expected);
        stored.Select(e => e.Title).Should().Equal(
            "OutOfStockException: Item 4711 is out of stock",
            "TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.",
            "Payment provider answered 502 for order 99812");
        stored[0].TitleWrapper.Should().Be("InvalidOperationException");
        stored[0].Culprit.Should().Be("Shop.Inventory.StockService.ValidateStock");
        stored.Should().AllSatisfy(e => e.GroupingVersion.Should().Be(Grouper.Version));
    }

    [Fact]
    public async Task The_stored_events_make_an_issue_with_the_events_title_and_culprit()
    {
        var (batch, ids) = WithFreshIds();

        using var response = await Host.PostAsync(Encode(batch));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var stored = await Host.Issues.GetEventAsync(IngestHost.ProjectId, ids[0]);
        var issue = await Host.Issues.GetIssueAsync(IngestHost.ProjectId, stored!.Fingerprint);
        issue!.Title.Should().Be(stored.Title);
        issue.Culprit.Should().Be("Shop.Inventory.StockService.ValidateStock");
    }

    [Fact]
    public async Task An_event_of_an_issue_that_grouping_version_1_made_keeps_landing_in_that_issue()
    {
        // The checkout failure, with an exception type of its own so no other test's issue is involved.
        var id = Guid.NewGuid();
        var checkout = CheckoutEvent();
        var exceptions = checkout["exceptions"].AsList();
        var inner = exceptions[1].AsMap().With("type", $"Shop.Upgrade{id:N}.OutOfStockException");
        var body = Encode(Batch(checkout.With("event_id", id.ToString("N")).With("exceptions", Array(exceptions[0], inner))));
        var decoded = new EventBatchDecoder(new IngestLimits()).Decode(body).Events[0];
        var versionOne = GroupingV1.Fingerprint(decoded);
        // Made by an ingest of the previous release: version 1's fingerprint and title.
        await Host.Events.InsertEventsAsync(
        [
            TestEvents.Create(IngestHost.ProjectId, versionOne, CheckoutTime.AddDays(-1), title: "InvalidOperationException: Checkout failed for bundle 'summer-kit'") with { GroupingVersion = 1 },
        ]);

        using var response = await Host.PostAsync(body);

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var stored = await Host.Issues.GetEventAsync(IngestHost.ProjectId, id);
        stored!.Fingerprint.Should().Be(versionOne);
        stored.GroupingVersion.Should().Be(Grouper.Version);
        stored.LegacyFingerprint.Should().Be(versionOne);
        var issue = await Host.Issues.GetIssueAsync(IngestHost.ProjectId, versionOne);
        issue!.EventCount.Should().Be(2);
        issue.Title.Should().Be("InvalidOperationException: Checkout failed for bundle 'summer-kit'", "the issue keeps the name it had");
        (await Host.Issues.GetIssueAsync(IngestHost.ProjectId, Grouper.Group(decoded).Fingerprint)).Should().BeNull("no issue splits off");
    }

    [Theory]
    [InlineData("application/vnd.msgpack")]
    [InlineData("application/msgpack")]
    [InlineData("application/x-msgpack")]
    [InlineData("Application/VND.MsgPack")]
    [InlineData("application/vnd.msgpack; charset=binary")]
    public async Task Every_messagepack_media_type_is_accepted(string contentType)
    {
        var content = new ByteArrayContent(Encode(WithFreshIds().Batch));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await Host.PostAsync(content);

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task Content_encoding_identity_is_an_uncompressed_body()
    {
        var content = IngestHost.MessagePack(Encode(WithFreshIds().Batch));
        content.Headers.ContentEncoding.Add("identity");

        using var response = await Host.PostAsync(content);

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task An_empty_batch_is_accepted_with_zero_events()
    {
        using var response = await Host.PostAsync(Encode(Map(("events", Array()))));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await IngestHost.JsonAsync(response)).GetProperty("accepted").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task An_event_sent_twice_is_stored_once()
    {
        var (batch, ids) = WithFreshIds();
        var unique = Guid.NewGuid().ToString();
        var body = Encode(batch.With("events", ((object?[])batch["events"]!).Select(e => (object?)((WireMap)e!).With("fingerprint", Array(unique))).ToArray()));

        using (var first = await Host.PostAsync(body))
        using (var second = await Host.PostAsync(body, gzip: true))
        {
            first.StatusCode.Should().Be(HttpStatusCode.Accepted);
            second.StatusCode.Should().Be(HttpStatusCode.Accepted, "a retry of a stored batch is not an error");
        }

        var stored = await Host.Issues.GetEventAsync(IngestHost.ProjectId, ids[1]);
        (await Host.Issues.GetIssueAsync(IngestHost.ProjectId, stored!.Fingerprint))!.EventCount.Should().Be(3, "the batch's three events, each once");
    }

    [Theory]
    [InlineData(null, "missing")]
    [InlineData("", "missing")]
    [InlineData("   ", "missing")]
    [InlineData("wrong-key-0123456789", "wrong")]
    [InlineData(IngestHost.Key + "x", "wrong")]
    [InlineData("ingest-test-key-012345678", "wrong")]
    public async Task A_missing_or_wrong_key_is_401_and_nothing_is_stored(string? key, string problem)
    {
        var (batch, ids) = WithFreshIds();

        using var response = await Host.PostAsync(IngestHost.MessagePack(Encode(batch)), key);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain(problem == "missing" ? "missing" : "wrong");
        (await Host.Issues.GetEventAsync(IngestHost.ProjectId, ids[0])).Should().BeNull();
    }

    [Fact]
    public async Task The_key_of_one_project_does_not_open_another_or_an_unknown_one()
    {
        using var response = await Host.PostAsync(IngestHost.MessagePack(Encode(WithFreshIds().Batch)), IngestHost.Key, projectId: 2);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("unknown project 2");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1.0")]
    [InlineData("1e3")]
    [InlineData("%201")]
    [InlineData("99999999999")]
    [InlineData("2147483648")]
    [InlineData("%D9%A1")]
    public async Task A_project_id_that_is_not_a_positive_integer_is_404(string projectId)
    {
        using var response = await Host.PostAsync(IngestHost.MessagePack(Encode(WithFreshIds().Batch)), IngestHost.Key, projectId);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("positive integer");
    }

    [Fact]
    public async Task A_project_id_with_leading_zeros_is_that_project()
    {
        using var response = await Host.PostAsync(IngestHost.MessagePack(Encode(WithFreshIds().Batch)), IngestHost.Key, "0001");

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    [InlineData("application/octet-stream")]
    [InlineData("application/vnd.msgpack2")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task A_body_that_is_not_declared_messagepack_is_415(string? contentType)
    {
        var content = new ByteArrayContent(Encode(WithFreshIds().Batch));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var response = await Host.PostAsync(content);

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("application/vnd.msgpack");
    }

    [Theory]
    [InlineData("br")]
    [InlineData("deflate")]
    [InlineData("compress")]
    [InlineData("zstd")]
    [InlineData("gzip, gzip")]
    [InlineData("gzip, br")]
    public async Task A_content_encoding_other_than_gzip_or_identity_is_415(string encoding)
    {
        var content = IngestHost.MessagePack(IngestHost.Gzip(Encode(WithFreshIds().Batch)));
        content.Headers.TryAddWithoutValidation("Content-Encoding", encoding);

        using var response = await Host.PostAsync(content);

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain(encoding);
    }

    [Fact]
    public async Task The_key_is_checked_before_the_content_type_and_the_size()
    {
        var content = new ByteArrayContent(new byte[3 * 1024 * 1024]);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");

        using var response = await Host.PostAsync(content, "wrong-key-0123456789");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    public static TheoryData<string, byte[], bool, string, string> BrokenBodies()
    {
        var valid = Encode(Batch());
        var wrongType = Encode(Batch(MessageEvent(), CheckoutEvent().With("exceptions", Array(Map(("type", "E"),
            ("frames", Array(CheckoutFrame(0), CheckoutFrame(1), CheckoutFrame(2), CheckoutFrame(3).With("line", "31"))))))));
        var gzipped = IngestHost.Gzip(valid);
        return new()
        {
            { "JSON instead of MessagePack", """{"events":[]}"""u8.ToArray(), false, "", "must be a MessagePack map" },
            { "an empty body", [], false, "", "empty" },
            { "an empty gzip body", [], true, "", "empty" },
            { "plain bytes that claim to be gzip", valid, true, "", "not valid gzip" },
            { "a cut gzip stream", gzipped[..(gzipped.Length / 2)], true, "", "gzip" },
            { "a cut body", valid[..(valid.Length - 7)], false, "events[2].fingerprint[1]", "unexpected end of data" },
            { "a value of the wrong type", wrongType, false, "events[1].exceptions[0].frames[3].line", "expected an integer but found a string" },
            { "a newer protocol version", IngestHost.Gzip(Encode(Batch().With("v", 2))), true, "v", "not supported" },
            { "bytes after the batch", [.. valid, 0xc0], false, "", "after the batch" },
            { "garbage after a whole gzip stream", [.. gzipped, .. "garbage"u8], true, "", "gzip" },
            { "a byte after a whole gzip stream", [.. gzipped, 0x00], true, "", "gzip" },
            { "two gzip streams, the second cut", [.. gzipped, .. gzipped[..20]], true, "", "gzip" },
        };
    }

    [Theory]
    [MemberData(nameof(BrokenBodies))]
    public async Task A_broken_body_is_400_with_json_naming_the_field(string what, byte[] body, bool gzip, string field, string problem)
    {
        var content = IngestHost.MessagePack(body);
        if (gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }

        using var response = await Host.PostAsync(content);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, what);
        var json = await IngestHost.JsonAsync(response);
        json.GetProperty("field").GetString().Should().Be(field, what);
        json.GetProperty("error").GetString().Should().NotBeNullOrWhiteSpace().And.Contain(problem, what);
    }

    [Fact]
    public async Task A_batch_with_one_bad_event_stores_none_of_its_events()
    {
        var (batch, ids) = WithFreshIds();
        var events = (object?[])batch["events"]!;
        var broken = batch.With("events", Array(events[0], events[1], ((WireMap)events[2]!).With("timestamp", "not a time")));

        using var response = await Host.PostAsync(Encode(broken));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await IngestHost.JsonAsync(response)).GetProperty("field").GetString().Should().Be("events[2].timestamp");
        (await Host.Issues.GetEventAsync(IngestHost.ProjectId, ids[0])).Should().BeNull();
        (await Host.Issues.GetEventAsync(IngestHost.ProjectId, ids[1])).Should().BeNull();
    }

    [Fact]
    public async Task Only_post_is_routed()
    {
        using var response = await Host.Client.GetAsync($"/api/{IngestHost.ProjectId}/events");

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
    }
}
