using System.Diagnostics;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// A real app whose payment library comes from a NuGet package (packed into a folder feed with the SDK, as a company's own
/// package would be), reaching the library's failure from two places of its own code, reporting to a real ingest: two issues,
/// each named after the app's method (docs/sdk.md, "Which frames are the app's"). The same library referenced as a project is
/// the app's code, as before, and so is the package when the app's InAppInclude names it.
/// </summary>
public sealed class PackageFramesTests : IAsyncLifetime
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    // The library's version is the SDK feed's: one of its own per run, so the NuGet cache never serves an older build.
    private static readonly string Version = SdkFeed.Version;
    private static readonly string Root = Directory.CreateTempSubdirectory("errorhub-package-frames-").FullName;
    private static readonly Lazy<Task<string>> PackageApp = new(() => BuildAppAsync("shop-package", $"""<PackageReference Include="Acme.Payments" Version="{Version}" />"""));
    private static readonly Lazy<Task<string>> ProjectApp = new(() => BuildAppAsync("shop-project", """<ProjectReference Include="../Acme.Payments/Acme.Payments.csproj" />"""));
    private static readonly Lazy<Task> Feed = new(PackAsync);

    private IngestHost _ingest = null!;

    public async Task InitializeAsync() => _ingest = await IngestHost.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task A_packages_failure_reached_from_two_places_of_the_app_is_two_issues_each_with_the_apps_frame_as_culprit()
    {
        var events = await RunAsync(await PackageApp.Value, inAppInclude: null);

        events.Select(e => e.Culprit).Should().BeEquivalentTo("Shop.Checkout.Pay", "Shop.Subscriptions.Renew");
        events.Select(e => e.Fingerprint).Distinct().Should().HaveCount(2);
        events.Should().AllSatisfy(e => e.Exceptions[0].Frames.Where(f => f.Module == "Acme.Payments").Should().NotBeEmpty().And.OnlyContain(f => !f.InApp));
    }

    [Fact]
    public async Task InAppInclude_naming_the_package_makes_its_frames_the_apps_and_its_failure_one_issue()
    {
        var events = await RunAsync(await PackageApp.Value, inAppInclude: "Acme.Payments");

        events.Select(e => e.Culprit).Should().Equal("Acme.Payments.PaymentGateway.Authorize", "Acme.Payments.PaymentGateway.Authorize");
        events.Select(e => e.Fingerprint).Distinct().Should().ContainSingle();
    }

    [Fact]
    public async Task The_same_library_referenced_as_a_project_is_the_apps_code_as_before()
    {
        var events = await RunAsync(await ProjectApp.Value, inAppInclude: null);

        events.Select(e => e.Culprit).Should().Equal("Acme.Payments.PaymentGateway.Authorize", "Acme.Payments.PaymentGateway.Authorize");
        events.Select(e => e.Fingerprint).Distinct().Should().ContainSingle();
        events.Should().AllSatisfy(e => e.Exceptions[0].Frames.Where(f => f.Module == "Acme.Payments").Should().OnlyContain(f => f.InApp));
    }

    /// <summary>Runs the app to its end (it reports both failures and flushes) and returns the two events ingest stored, oldest first.</summary>
    private async Task<List<ErrorEvent>> RunAsync(string app, string? inAppInclude)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(app);
        start.Environment["ErrorHub__Dsn"] = _ingest.Dsn;
        start.Environment["SHOP_INAPP_INCLUDE"] = inAppInclude ?? "";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(RunTimeout))
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"The app did not end within {RunTimeout}:\n{await output}\n{await errors}");
            }
        }

        process.ExitCode.Should().Be(0, $"the app reports and ends:\n{await output}\n{await errors}");
        var deadline = Stopwatch.StartNew();
        List<ErrorEvent> events;
        while ((events = await _ingest.AllEventsAsync()).Count < 2 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200);
        }

        events.Should().HaveCount(2);
        return [.. events.OrderBy(e => e.Timestamp)];
    }

    private static async Task PackAsync()
    {
        var sdkFeed = await SdkFeed.FolderAsync();
        var feed = Path.Combine(Root, "feed");
        Directory.CreateDirectory(feed);

        // A payment provider's client library, as a NuGet package: its namespace is none the SDK or ingest knows.
        var library = Path.Combine(Root, "Acme.Payments");
        Directory.CreateDirectory(library);
        await File.WriteAllTextAsync(Path.Combine(library, "Acme.Payments.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(library, "PaymentGateway.cs"), """
            using System.Runtime.CompilerServices;

            namespace Acme.Payments;

            public static class PaymentGateway
            {
                [MethodImpl(MethodImplOptions.NoInlining)]
                public static void Charge(string card) => Authorize(card);

                [MethodImpl(MethodImplOptions.NoInlining)]
                private static void Authorize(string card)
                {
                    if (card.StartsWith("4000", StringComparison.Ordinal))
                    {
                        throw new InvalidOperationException("The card was declined.");
                    }
                }
            }
            """);
        await DotnetCli.RunAsync(library, "pack", "-o", feed, $"-p:Version={Version}", "-nologo", "-v:q");
        await File.WriteAllTextAsync(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="errorhub-local" value="{sdkFeed}" />
                <add key="acme-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
    }

    /// <summary>A console app with two places of its own code that charge a declined card and report what the library threw.</summary>
    private static async Task<string> BuildAppAsync(string name, string libraryReference)
    {
        await Feed.Value;
        var app = Path.Combine(Root, name);
        Directory.CreateDirectory(app);
        await File.WriteAllTextAsync(Path.Combine(app, "Shop.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ErrorHub" Version="{Version}" />
                {libraryReference}
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using ErrorHub;

            using (ErrorHubSdk.Init(options =>
            {
                foreach (var prefix in (Environment.GetEnvironmentVariable("SHOP_INAPP_INCLUDE") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    options.InAppInclude.Add(prefix);
                }
            }))
            {
                Shop.Checkout.Pay();
                Shop.Subscriptions.Renew();
                await ErrorHubSdk.Client.FlushAsync(TimeSpan.FromSeconds(30));
            }
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Shop.cs"), """
            using System.Runtime.CompilerServices;
            using ErrorHub;

            namespace Shop;

            public static class Checkout
            {
                [MethodImpl(MethodImplOptions.NoInlining)]
                public static void Pay()
                {
                    try { Acme.Payments.PaymentGateway.Charge("4000-0000-0000-0002"); }
                    catch (Exception e) { ErrorHubSdk.Client.CaptureException(e); }
                }
            }

            public static class Subscriptions
            {
                [MethodImpl(MethodImplOptions.NoInlining)]
                public static void Renew()
                {
                    try { Acme.Payments.PaymentGateway.Charge("4000-0000-0000-0002"); }
                    catch (Exception e) { ErrorHubSdk.Client.CaptureException(e); }
                }
            }
            """);
        await DotnetCli.RunAsync(app, "build", "-c", "Release", "-nologo", "-v:q");
        return Path.Combine(app, "bin", "Release", "net10.0", "Shop.dll");
    }
}
