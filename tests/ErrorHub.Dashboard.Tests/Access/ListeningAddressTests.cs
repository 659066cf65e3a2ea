using ErrorHub.Dashboard.Access;
using Microsoft.Extensions.Configuration;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>Which addresses the dashboard would listen on, their loopback stand-ins before an admin exists, and the hosts it answers for.</summary>
public sealed class ListeningAddressTests
{
    [Theory]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080")]
    [InlineData("http://+:8080", "http://127.0.0.1:8080")]
    [InlineData("http://*:80", "http://127.0.0.1:80")]
    [InlineData("http://[::]:5080", "http://127.0.0.1:5080")]
    [InlineData("https://errors.example.com", "https://127.0.0.1:443")]
    [InlineData("http://192.0.2.10:9000/base", "http://127.0.0.1:9000")]
    [InlineData("http://127.0.0.1:5080", "http://127.0.0.1:5080")]
    [InlineData("http://localhost:5080", "http://localhost:5080")]
    [InlineData("http://[::1]:5080", "http://[::1]:5080")]
    [InlineData("http://unix:/run/errorhub.sock", "http://unix:/run/errorhub.sock")]
    public void Every_address_has_a_loopback_stand_in_on_the_same_port(string configured, string loopback) =>
        LoopbackUntilAdmin.ToLoopback(configured).Should().Be(loopback);

    [Theory]
    [InlineData("urls", "http://0.0.0.0:8080;https://+:8443", "http://0.0.0.0:8080", "https://+:8443")]
    [InlineData("http_ports", "8080;9090", "http://*:8080", "http://*:9090")]
    [InlineData("https_ports", "443", "https://*:443")]
    [InlineData("Kestrel:Endpoints:Web:Url", "http://0.0.0.0:7000", "http://0.0.0.0:7000")]
    public void The_configured_addresses_come_from_urls_ports_or_kestrel_endpoints(string key, string value, params string[] expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

        LoopbackUntilAdmin.ConfiguredUrls(configuration).Should().Equal(expected);
    }

    [Fact]
    public void Without_configuration_the_default_is_loopback_port_5080()
    {
        var configuration = new ConfigurationBuilder().Build();

        LoopbackUntilAdmin.ConfiguredUrls(configuration).Should().Equal(LoopbackUntilAdmin.DefaultUrl);
        DashboardHosts.Allowed(configuration).Should().BeEquivalentTo(["localhost", "127.0.0.1", "[::1]"]);
    }

    [Fact]
    public void The_allowed_hosts_are_the_public_and_ingest_hosts_named_listening_hosts_and_loopback()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ErrorHub:PublicUrl"] = "https://Errors.Example.com/errorhub/",
            ["ErrorHub:IngestUrl"] = "https://ingest.example.com",
            ["urls"] = "http://0.0.0.0:8080;http://dashboard.internal:8081;http://[::]:8082",
        }).Build();

        DashboardHosts.Allowed(configuration).Should().BeEquivalentTo(
            ["localhost", "127.0.0.1", "[::1]", "errors.example.com", "ingest.example.com", "dashboard.internal"]);
    }
}
