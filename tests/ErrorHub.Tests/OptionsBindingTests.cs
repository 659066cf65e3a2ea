using ErrorHub.Testing.Docs;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Tests;

/// <summary>
/// <c>AddErrorHub()</c> binds the <c>ErrorHub</c> section with code the configuration binder's source generator writes at
/// build time (so that a NativeAOT app binds it too): every option an app owner can write in appsettings.json or the
/// environment arrives, of every kind (strings, booleans, numbers, TimeSpans, the log level enum, the lists).
/// </summary>
public sealed class OptionsBindingTests
{
    private static readonly Dictionary<string, string?> Section = new()
    {
        ["ErrorHub:Dsn"] = "http://bound-key-0123456789@127.0.0.1:9/4",
        ["ErrorHub:Enabled"] = "false",
        ["ErrorHub:Environment"] = "staging",
        ["ErrorHub:Release"] = "shop@2.1.0",
        ["ErrorHub:ServerName"] = "web-7",
        ["ErrorHub:CaptureUser"] = "false",
        ["ErrorHub:CaptureClientIp"] = "true",
        ["ErrorHub:ScrubbedHeaders:0"] = "X-Shop-Secret",
        ["ErrorHub:InAppExclude:0"] = "Acme.Vendor",
        ["ErrorHub:InAppInclude:0"] = "Acme.Payments",
        ["ErrorHub:ReportHandledExceptions"] = "true",
        ["ErrorHub:MinimumEventLevel"] = "Warning",
        ["ErrorHub:MinimumBreadcrumbLevel"] = "Debug",
        ["ErrorHub:MaxBreadcrumbs"] = "7",
        ["ErrorHub:MaxQueueSize"] = "123",
        ["ErrorHub:MaxBatchSize"] = "45",
        ["ErrorHub:MaxBatchBytes"] = "65536",
        ["ErrorHub:BatchDelay"] = "00:00:02",
        ["ErrorHub:CacheDirectory"] = "errorhub-cache",
        ["ErrorHub:MaxCacheBytes"] = "1048576",
        ["ErrorHub:SendTimeout"] = "00:00:09",
        ["ErrorHub:ShutdownTimeout"] = "00:00:03",
    };

    [Fact]
    public void Every_option_is_bound_from_the_ErrorHub_section()
    {
        var options = Bind(Section);

        options.Dsn.Should().Be("http://bound-key-0123456789@127.0.0.1:9/4");
        options.Enabled.Should().BeFalse();
        options.Environment.Should().Be("staging");
        options.Release.Should().Be("shop@2.1.0");
        options.ServerName.Should().Be("web-7");
        options.CaptureUser.Should().BeFalse();
        options.CaptureClientIp.Should().BeTrue();
        options.ScrubbedHeaders.Should().Contain("X-Shop-Secret").And.Contain("Authorization", "the defaults stay, the section adds to them");
        options.InAppExclude.Should().Equal("Acme.Vendor");
        options.InAppInclude.Should().Equal("Acme.Payments");
        options.ReportHandledExceptions.Should().BeTrue();
        options.MinimumEventLevel.Should().Be(LogLevel.Warning);
        options.MinimumBreadcrumbLevel.Should().Be(LogLevel.Debug);
        options.MaxBreadcrumbs.Should().Be(7);
        options.MaxQueueSize.Should().Be(123);
        options.MaxBatchSize.Should().Be(45);
        options.MaxBatchBytes.Should().Be(65536);
        options.BatchDelay.Should().Be(TimeSpan.FromSeconds(2));
        options.CacheDirectory.Should().Be("errorhub-cache");
        options.MaxCacheBytes.Should().Be(1048576);
        options.SendTimeout.Should().Be(TimeSpan.FromSeconds(9));
        options.ShutdownTimeout.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Every_option_an_app_can_configure_is_in_this_test()
    {
        // A new option must be bound too: the list above grows with it.
        var written = Section.Keys.Select(k => k["ErrorHub:".Length..].Split(':')[0]).Distinct();
        written.Should().BeEquivalentTo(ConfigurationDocs.Options<ErrorHubOptions>("").Select(o => o.Key));
    }

    [Fact]
    public void A_value_that_is_not_of_the_options_kind_fails_at_start_naming_the_key()
    {
        var wrong = new Dictionary<string, string?>(Section) { ["ErrorHub:MaxBreadcrumbs"] = "many" };

        var bind = () => Bind(wrong);

        bind.Should().Throw<InvalidOperationException>().WithMessage("*ErrorHub:MaxBreadcrumbs*");
    }

    private static ErrorHubOptions Bind(Dictionary<string, string?> section)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(section).Build());
        services.AddLogging();
        services.AddErrorHub();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<ErrorHubOptions>>().Value;
    }
}
