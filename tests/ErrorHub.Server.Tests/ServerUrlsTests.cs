using ErrorHub.Storage;
using FluentAssertions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Server.Tests;

/// <summary>DSNs and links are built from the configured public addresses, not from wherever the dashboard happens to listen.</summary>
public sealed class ServerUrlsTests
{
    private static readonly Project Shop = new(7, "Web shop", "shop-7d2f1c9a0b3e4d5f", DateTimeOffset.UnixEpoch);

    [Fact]
    public void The_public_url_gives_links_and_dsns_with_its_path_base()
    {
        var urls = Urls(publicUrl: "https://example.com/errorhub", listening: "http://127.0.0.1:5080");

        urls.Dsn(Shop).Should().Be("https://shop-7d2f1c9a0b3e4d5f@example.com/errorhub/7");
        urls.Link("projects/7/issues").Should().Be(new Uri("https://example.com/errorhub/projects/7/issues"));
        urls.Link("/projects/7/issues").Should().Be(new Uri("https://example.com/errorhub/projects/7/issues"));
    }

    [Fact]
    public void With_ingest_apart_dsns_point_at_ingest_and_links_at_the_dashboard()
    {
        var urls = Urls(publicUrl: "https://errors.example.com/", ingestUrl: "https://ingest.example.com:8443/", listening: "http://127.0.0.1:5080");

        urls.Dsn(Shop).Should().Be("https://shop-7d2f1c9a0b3e4d5f@ingest.example.com:8443/7");
        urls.Link("projects/7/issues").Should().Be(new Uri("https://errors.example.com/projects/7/issues"));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", "http://shop-7d2f1c9a0b3e4d5f@127.0.0.1:5080/7")]
    [InlineData("http://+:8080", "http://shop-7d2f1c9a0b3e4d5f@localhost:8080/7")]
    [InlineData("http://*:8080", "http://shop-7d2f1c9a0b3e4d5f@localhost:8080/7")]
    [InlineData("http://0.0.0.0:8080", "http://shop-7d2f1c9a0b3e4d5f@localhost:8080/7")]
    [InlineData("http://[::]:8080", "http://shop-7d2f1c9a0b3e4d5f@localhost:8080/7")]
    public void Unconfigured_the_address_the_server_listens_on_is_used(string listening, string expected) =>
        Urls(listening: listening).Dsn(Shop).Should().Be(expected);

    [Fact]
    public void Without_configuration_or_a_server_the_urls_are_still_well_formed() =>
        new ServerUrls(Options.Create(new ErrorHubServerOptions())).Dsn(Shop).Should().Be("http://shop-7d2f1c9a0b3e4d5f@localhost/7");

    private static ServerUrls Urls(string? publicUrl = null, string? ingestUrl = null, string? listening = null) =>
        new(Options.Create(new ErrorHubServerOptions { PublicUrl = publicUrl, IngestUrl = ingestUrl }), new ListeningServer(listening));

    private sealed class ListeningServer : IServer
    {
        public ListeningServer(string? address)
        {
            var addresses = new ServerAddressesFeature();
            if (address is not null)
            {
                addresses.Addresses.Add(address);
            }

            Features.Set<IServerAddressesFeature>(addresses);
        }

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public void Dispose()
        {
        }

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
