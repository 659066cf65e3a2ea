using System.Net;
using ErrorHub.Server;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Quotas;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

public sealed class IngestRegistrationTests
{
    [Fact]
    public void Adding_ingest_twice_registers_each_service_and_background_task_once()
    {
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection();

        services.AddErrorHubIngest(configuration).AddErrorHubIngest(configuration);

        services.Count(d => d.ServiceType == typeof(IngestEndpoint)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(StoreWriter)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IngestAdmission)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(ProjectBootstrap)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(ProjectQuotas)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IHostedService) && d.ImplementationFactory is not null).Should().Be(4, "the store writer, the ingest journal, the drop counts' flush and retention run once each");
    }

    [Fact]
    public async Task A_host_that_adds_ingest_twice_still_stores_each_batch_once_and_answers_202()
    {
        await using var host = await IngestHost.StartAsync(configureServices: services =>
            services.AddErrorHubIngest(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ErrorHub:Project:PublicKey"] = IngestHost.Key,
            }).Build()));
        var (batch, ids) = SampleBatch.WithFreshIds();

        using var response = await host.PostAsync(Wire.Encode(batch));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await host.Issues.GetEventAsync(IngestHost.ProjectId, ids[2])).Should().NotBeNull();
    }
}
