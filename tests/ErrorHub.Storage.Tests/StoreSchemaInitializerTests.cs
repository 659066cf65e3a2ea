using ErrorHub.Storage;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// Start-up work that waits for the store's tables (saving the configured project, the first admin) must run whatever
/// order the hosted services were added in: when the tables exist at start, work deferred by a service that started
/// before the schema step runs at that step, before the store counts as ready.
/// </summary>
public sealed class StoreSchemaInitializerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-schema-start-").FullName;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Work_deferred_before_the_schema_step_runs_when_the_tables_exist_at_start(bool ensureSchema)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<DeferringService>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<DeferringService>());
        builder.Services.AddErrorHubStore();
        builder.Services.Configure<StoreOptions>(options =>
        {
            options.Sqlite.Path = Path.Combine(_directory, "errorhub.db");
            options.EnsureSchemaOnStartup = ensureSchema;
        });
        using var host = builder.Build();

        await host.StartAsync();
        try
        {
            var deferring = host.Services.GetRequiredService<DeferringService>();
            deferring.Deferred.Should().BeTrue("it started before the schema step, so the tables were not known to exist yet");
            deferring.Runs.Should().Be(1, "deferred work runs once the tables exist, which they do at the schema step");
            host.Services.GetRequiredService<StoreSchemaState>().IsReady.Should().BeTrue();
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Stopping_after_the_services_were_disposed_does_not_throw()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddErrorHubStore();
        builder.Services.Configure<StoreOptions>(options => options.Sqlite.Path = Path.Combine(_directory, "errorhub.db"));
        using var host = builder.Build();
        await host.StartAsync();
        var initializer = host.Services.GetServices<IHostedService>().OfType<StoreSchemaInitializer>().Single();

        // A test server disposed before its host is stopped does this; it failed the disposal with ObjectDisposedException.
        initializer.Dispose();
        var stop = () => initializer.StopAsync(CancellationToken.None);

        await stop.Should().NotThrowAsync();
        await host.StopAsync();
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed class DeferringService(StoreSchemaState schema) : IHostedService
    {
        public bool Deferred { get; private set; }

        public int Runs { get; private set; }

        public Task StartAsync(CancellationToken cancellationToken)
        {
            Deferred = schema.DeferUntilCreated("a test's start-up work", _ =>
            {
                Runs++;
                return Task.CompletedTask;
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
