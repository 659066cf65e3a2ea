using Microsoft.AspNetCore.Builder;
using PublicApiGenerator;
using Xunit;

namespace ErrorHub.Tests.PublicApi;

/// <summary>
/// Freezes the public API of the SDK packages, as C# declarations written by PublicApiGenerator (nullable
/// annotations of generic arguments included): any change fails until the approval file is updated on purpose.
/// See <see cref="ApiApproval"/> for how to accept a change.
/// </summary>
public sealed class PublicApiApprovalTests
{
    private static readonly ApiGeneratorOptions Options = new()
    {
        // Our entry points live in the framework's namespaces on purpose (AddErrorHub, UseErrorHub, WriteTo.ErrorHub); the generator
        // leaves System* and Microsoft* out by default, which would hide exactly them.
        AllowNamespacePrefixes = ["Microsoft.AspNetCore.Builder", "Microsoft.Extensions.DependencyInjection", "Serilog"],
        TreatRecordsAsClasses = false,
        // The target framework is the build's business, not the API's.
        ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute"],
    };

    [Fact]
    public void ErrorHub_public_API_is_approved() =>
        ApiApproval.Verify(typeof(IErrorHubClient).Assembly.GeneratePublicApi(Options), "ErrorHub");

    [Fact]
    public void ErrorHub_AspNetCore_public_API_is_approved() =>
        ApiApproval.Verify(typeof(ErrorHubApplicationBuilderExtensions).Assembly.GeneratePublicApi(Options), "ErrorHub.AspNetCore");

    [Fact]
    public void ErrorHub_Serilog_public_API_is_approved() =>
        ApiApproval.Verify(typeof(global::Serilog.ErrorHubLoggerConfigurationExtensions).Assembly.GeneratePublicApi(Options), "ErrorHub.Serilog");
}
