using ErrorHub.AspNetCore.Tests.Infrastructure;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Privacy;

/// <summary>
/// Request headers in ErrorHubOptions.ScrubbedHeaders are sent as [Filtered], whether the app names them in
/// configuration or in code and whatever case the client uses; Authorization, Cookie and Set-Cookie are filtered even
/// when the app takes them out of the set. Real requests through the real middleware.
/// </summary>
public sealed class HeaderScrubbingTests
{
    [Fact]
    public async Task Headers_named_in_configuration_are_filtered_in_addition_to_the_defaults()
    {
        await using var app = await CapturingApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["ErrorHub:ScrubbedHeaders:0"] = "X-Tenant-Secret",
            ["ErrorHub:ScrubbedHeaders:1"] = "x-signature",
        });

        var e = await app.EventForAsync("/", request =>
        {
            request.Headers.Add("X-Tenant-Secret", "tenant-s3cr3t");
            request.Headers.Add("X-Signature", "sig-s3cr3t");
            request.Headers.Add("X-Api-Key", "key-s3cr3t");
            request.Headers.Add("X-Request-Source", "checkout");
        });

        var headers = e.Request!.Headers;
        headers["X-Tenant-Secret"].Should().Be("[Filtered]");
        headers["X-Signature"].Should().Be("[Filtered]");
        headers["X-Api-Key"].Should().Be("[Filtered]", "configuration adds to the defaults, it does not replace them");
        headers["X-Request-Source"].Should().Be("checkout");
        headers.Values.Should().NotContain(v => v.Contains("s3cr3t"));
    }

    [Fact]
    public async Task Headers_added_in_code_are_filtered_whatever_case_the_client_sends()
    {
        await using var app = await CapturingApp.StartAsync(o => o.ScrubbedHeaders.Add("X-Partner-Token"));

        var e = await app.EventForAsync("/", request =>
        {
            request.Headers.Add("x-PARTNER-token", "partner-s3cr3t");
            request.Headers.Add("X-API-KEY", "key-s3cr3t");
        });

        e.Request!.Headers["X-Partner-Token"].Should().Be("[Filtered]");
        e.Request.Headers["X-Api-Key"].Should().Be("[Filtered]");
        e.Request.Headers.Values.Should().NotContain(v => v.Contains("s3cr3t"));
    }

    [Fact]
    public async Task Authorization_Cookie_and_Set_Cookie_are_filtered_even_when_removed_from_the_set()
    {
        await using var app = await CapturingApp.StartAsync(o => o.ScrubbedHeaders.Clear());

        var e = await app.EventForAsync("/", request =>
        {
            request.Headers.Add("Authorization", "Bearer bearer-s3cr3t");
            request.Headers.Add("Cookie", "session=cookie-s3cr3t");
            request.Headers.TryAddWithoutValidation("set-cookie", "id=set-cookie-s3cr3t");
            request.Headers.Add("X-Api-Key", "not-secret-to-this-app");
        });

        var headers = e.Request!.Headers;
        headers["Authorization"].Should().Be("[Filtered]");
        headers["Cookie"].Should().Be("session=[Filtered]", "which cookies a request had can matter; their values never leave");
        headers["Set-Cookie"].Should().Be("[Filtered]");
        headers["X-Api-Key"].Should().Be("not-secret-to-this-app", "the app took it out of the set, and only the three are fixed");
        headers.Values.Should().NotContain(v => v.Contains("s3cr3t"));
    }
}
