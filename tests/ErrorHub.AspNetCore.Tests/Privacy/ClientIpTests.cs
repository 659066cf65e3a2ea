using ErrorHub.AspNetCore.Tests.Infrastructure;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Privacy;

/// <summary>The client's IP address is personal data: it is sent only when the app turns CaptureClientIp on.</summary>
public sealed class ClientIpTests
{
    [Fact]
    public async Task By_default_no_IP_address_is_sent()
    {
        await using var app = await CapturingApp.StartAsync();

        var e = await app.EventForAsync("/");

        e.User.Should().BeNull("nobody is signed in and the IP address is not captured");
    }

    [Fact]
    public async Task With_CaptureClientIp_the_clients_address_is_sent()
    {
        await using var app = await CapturingApp.StartAsync(o => o.CaptureClientIp = true);

        var e = await app.EventForAsync("/");

        e.User!.IpAddress.Should().Be("127.0.0.1");
    }

    [Fact]
    public async Task CaptureClientIp_can_be_turned_on_in_configuration()
    {
        await using var app = await CapturingApp.StartAsync(settings: new Dictionary<string, string?> { ["ErrorHub:CaptureClientIp"] = "true" });

        var e = await app.EventForAsync("/");

        e.User!.IpAddress.Should().Be("127.0.0.1");
    }
}
