using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// The ClickHouse payload column's format (docs/storage.md, "The payload column"): what one release stores, every later
/// one must read; bytes no release wrote give a clear error.
/// </summary>
public sealed class ClickHousePayloadTests
{
    // Stored by the release that introduced the compressed form: 0x01, the JSON's length (0x29F = 671), an LZ4 block.
    private const string StoredCompressed =
        "019F020000F12A7B226576656E744964223A2235663063326635652D336431612D346238652D396135312D32663465316339" +
        "6437613130222C2270726F6A65633300F118332C2274696D657374616D70223A22323032352D30332D31345430393A30303A" +
        "30302E3132332B0A00DF222C22726563656976656441742D000215312900A066696E6765727072696E2A00F6086670222C22" +
        "67726F7570696E6756657273696F6E223A321400F00F436F6D706F6E656E7473223A5B5D2C226C6576656C223A226572726F" +
        "7222A400F001746C65223A2254222C2263756C707269570011439200406C6561731C0020312EDC0090657863657074696F6E" +
        "4A00507B227479701C008453797374656D2E451D0070222C2276616C751B00C2626F6F6D222C226672616D6534004066756E" +
        "63420040223A224D7C00024300204E2E7D00FF076C696E65223A372C22696E417070223A747275657D2C3400111F38340020" +
        "1A393400305D7D5D8301E07175657374223A7B226D6574686FF8012047459C002075723301F00568747470733A2F2F782F22" +
        "2C22686561646572732D002041631901F000223A222A2F2A227D7D2C2275736572190010694200903432222C22656D616943" +
        "00C16140622E63227D2C227461673C00506B223A227611003073646B3300306E616D3B01019E01A06875622E646F746E6574" +
        "550104DC019022302E312E30227D7D";

    [Fact]
    public void A_compressed_payload_in_the_stored_format_reads_back()
    {
        var e = ClickHousePayload.Decode(Convert.FromHexString(StoredCompressed));

        e.EventId.Should().Be(Guid.Parse("5f0c2f5e-3d1a-4b8e-9a51-2f4e1c9d7a10"));
        e.Timestamp.Should().Be(new DateTimeOffset(2025, 3, 14, 9, 0, 0, 123, TimeSpan.Zero));
        e.Exceptions.Should().ContainSingle().Which.Frames.Select(f => f.Line).Should().Equal(7, 8, 9);
        e.User.Should().Be(new UserRecord("42", null, "a@b.c", null));
        e.Sdk.Should().Be(new NameVersion("errorhub.dotnet", "0.1.0"));
    }

    [Fact]
    public void An_event_is_stored_compressed_and_decodes_to_itself()
    {
        var e = TestEvents.CreateComplete(3, "fp", TestEvents.BaseTime);

        var stored = ClickHousePayload.Encode(e);

        stored[0].Should().Be(ClickHousePayload.Lz4Marker);
        stored.Length.Should().BeLessThan(EventPayloadJson.SerializeToUtf8Bytes(e).Length);
        ClickHousePayload.Decode(stored).Should().BeEquivalentTo(e, o => o.RespectingRuntimeTypes());
    }

    [Fact]
    public void A_plain_json_payload_of_an_earlier_release_decodes()
    {
        var e = TestEvents.CreateComplete(3, "fp", TestEvents.BaseTime);

        ClickHousePayload.Decode(EventPayloadJson.SerializeToUtf8Bytes(e)).Should().BeEquivalentTo(e, o => o.RespectingRuntimeTypes());
    }

    [Fact]
    public void Bytes_no_release_wrote_give_an_error_that_says_what_is_wrong()
    {
        var stored = ClickHousePayload.Encode(TestEvents.CreateComplete(3, "fp", TestEvents.BaseTime));

        FluentActions.Invoking(() => ClickHousePayload.Decode(stored.AsSpan(..^20))).Should().Throw<InvalidDataException>().WithMessage("*damaged*");
        FluentActions.Invoking(() => ClickHousePayload.Decode(stored.AsSpan(..3))).Should().Throw<InvalidDataException>().WithMessage("*shorter than its header*");
        FluentActions.Invoking(() => ClickHousePayload.Decode([])).Should().Throw<InvalidDataException>().WithMessage("*empty*");
        FluentActions.Invoking(() => ClickHousePayload.Decode([ClickHousePayload.Lz4Marker, 0xff, 0xff, 0xff, 0xff, .. stored[5..]]))
            .Should().Throw<InvalidDataException>().WithMessage("*claims 4294967295 bytes*");
        FluentActions.Invoking(() => ClickHousePayload.Decode([0x02, .. stored[1..]])).Should().Throw<System.Text.Json.JsonException>();
    }
}
