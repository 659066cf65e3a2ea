using ErrorHub.Ingestion;
using ErrorHub.Storage;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Server.Tests;

public sealed class ProjectDsnTests
{
    private static readonly Project Shop = new(7, "Web shop", "shop-7d2f1c9a0b3e4d5f", DateTimeOffset.UnixEpoch);

    [Theory]
    [InlineData("http://127.0.0.1:5080/", "http://shop-7d2f1c9a0b3e4d5f@127.0.0.1:5080/7")]
    [InlineData("http://127.0.0.1:5080", "http://shop-7d2f1c9a0b3e4d5f@127.0.0.1:5080/7")]
    [InlineData("https://errors.example.com/", "https://shop-7d2f1c9a0b3e4d5f@errors.example.com/7")]
    [InlineData("https://example.com/errorhub/", "https://shop-7d2f1c9a0b3e4d5f@example.com/errorhub/7")]
    public void The_DSN_carries_scheme_key_host_port_path_base_and_project(string baseAddress, string expected) =>
        ProjectDsn.For(Shop, new Uri(baseAddress)).Should().Be(expected);
}
