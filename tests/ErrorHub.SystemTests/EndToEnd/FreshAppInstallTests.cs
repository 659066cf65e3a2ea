using System.Diagnostics;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// A new user's first minutes: <c>dotnet pack</c> the SDK into a folder feed, <c>dotnet new web</c> an app for .NET 10
/// and one for .NET 8 (the LTS), <c>dotnet add package ErrorHub.AspNetCore</c> from that feed, add the two documented
/// lines, and crash the app: the crash arrives at a real ingest. The .NET 8 app runs on this machine's .NET 10 runtime
/// (DOTNET_ROLL_FORWARD=Major: no .NET 8 runtime is installed), but it is compiled against .NET 8's reference
/// assemblies and the packages' net8.0 builds, which is what tells whether a .NET 8 app can install them.
/// </summary>
public sealed class FreshAppInstallTests : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static readonly string Version = SdkFeed.Version;

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-fresh-app-").FullName;
    private IngestHost _ingest = null!;

    public async Task InitializeAsync()
    {
        _ingest = await IngestHost.StartAsync();
        await SdkFeed.UseInAsync(_directory);
    }

    public async Task DisposeAsync()
    {
        await _ingest.DisposeAsync();
        IngestHost.DeleteDirectory(_directory);
    }

    [Theory]
    [InlineData("net10.0")]
    [InlineData("net8.0")]
    public async Task A_new_web_app_installs_the_packages_from_a_folder_feed_and_its_crash_reaches_ingest(string targetFramework)
    {
        var app = Path.Combine(_directory, "app-" + targetFramework.Replace(".", "", StringComparison.Ordinal));
        await RunAsync(_directory, "new", "web", "-o", app, "-n", "FreshShop");
        if (targetFramework != "net10.0")
        {
            // dotnet new offers only net10.0 here; a user on the LTS has the same project with another TargetFramework.
            var project = Path.Combine(app, "FreshShop.csproj");
            await File.WriteAllTextAsync(project, (await File.ReadAllTextAsync(project)).Replace("net10.0", targetFramework, StringComparison.Ordinal));
        }

        await RunAsync(app, "add", "package", "ErrorHub.AspNetCore", "--version", Version);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            var builder = WebApplication.CreateBuilder(args);
            builder.Services.AddErrorHub();
            var app = builder.Build();
            app.UseErrorHub();
            app.MapGet("/", () => "Hello World!");
            app.MapGet("/checkout", () => { throw new InvalidOperationException("the fresh app could not check out"); });
            app.Run();
            """);
        await RunAsync(app, "build", "-c", "Release", "-nologo", "-v:q");

        await using var process = await StartAndFailCheckoutAsync("fresh-" + targetFramework, Path.Combine(app, "bin", "Release", targetFramework, "FreshShop.dll"));

        var stored = await WaitForEventAsync();
        stored.Exceptions[0].Type.Should().Be("System.InvalidOperationException");
        stored.Exceptions[0].Value.Should().Be("the fresh app could not check out");
        stored.Request!.Url.Should().EndWith("/checkout");
        stored.Sdk!.Name.Should().Be("errorhub.dotnet");
        stored.Sdk.Version.Should().StartWith(Version);
    }

    /// <summary>
    /// A new web app set up as Serilog.AspNetCore's README teaches (a bootstrap logger, then <c>UseSerilog</c> with the
    /// app's services), with a catch-all middleware of its own that logs and answers 500: Serilog replaces the logger
    /// factory, and only ErrorHub.Serilog's sink, installed from the same feed, brings the logged failure to ingest.
    /// </summary>
    [Fact]
    public async Task A_new_web_app_that_logs_through_Serilog_installs_ErrorHub_Serilog_and_its_logged_failure_reaches_ingest()
    {
        var app = Path.Combine(_directory, "app-serilog");
        await RunAsync(_directory, "new", "web", "-o", app, "-n", "FreshShop");
        await RunAsync(app, "add", "package", "Serilog.AspNetCore", "--version", "10.0.0");
        await RunAsync(app, "add", "package", "ErrorHub.AspNetCore", "--version", Version);
        await RunAsync(app, "add", "package", "ErrorHub.Serilog", "--version", Version);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using Serilog;

            Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
            var builder = WebApplication.CreateBuilder(args);
            builder.Services.AddErrorHub();
            builder.Host.UseSerilog((context, services, configuration) => configuration
                .ReadFrom.Configuration(context.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext()
                .WriteTo.Console()
                .WriteTo.ErrorHub(services));
            var app = builder.Build();
            app.UseErrorHub();
            app.Use(async (context, next) =>
            {
                try { await next(context); }
                catch (Exception exception)
                {
                    context.RequestServices.GetRequiredService<ILogger<Program>>().LogError(exception, "Unhandled exception");
                    context.Response.StatusCode = 500;
                }
            });
            app.MapGet("/checkout", () => { throw new InvalidOperationException("the Serilog app could not check out"); });
            app.Run();
            """);
        await RunAsync(app, "build", "-c", "Release", "-nologo", "-v:q");

        await using var process = await StartAndFailCheckoutAsync("fresh-serilog", Path.Combine(app, "bin", "Release", "net10.0", "FreshShop.dll"));

        var stored = await WaitForEventAsync();
        stored.Exceptions[0].Value.Should().Be("the Serilog app could not check out");
        stored.Logger.Should().Be("Program");
        stored.Request!.Url.Should().EndWith("/checkout");
    }

    /// <summary>Starts the built app in Production, reporting to the test's ingest, and has its <c>/checkout</c> fail with a 500.</summary>
    private async Task<TestProcess> StartAndFailCheckoutAsync(string name, string dll)
    {
        var url = FreePort.NextHttpUrl();
        var process = TestProcess.StartDotnet(
            name,
            dll,
            ["--urls", url.ToString().TrimEnd('/')],
            new Dictionary<string, string?>
            {
                ["ErrorHub__Dsn"] = _ingest.Dsn,
                ["DOTNET_ROLL_FORWARD"] = "Major",
                ["ASPNETCORE_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            });
        try
        {
            await process.WaitForHttpAsync(url, StartTimeout);
            using var http = new HttpClient { BaseAddress = url };
            using var response = await http.GetAsync("/checkout");
            ((int)response.StatusCode).Should().Be(500);
            return process;
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    private async Task<Storage.Events.ErrorEvent> WaitForEventAsync()
    {
        // The SDK sends within moments; the store has the event once ingest answered 202.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if ((await _ingest.AllEventsAsync()).FirstOrDefault() is { } stored)
            {
                return stored;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("The fresh app's crash did not reach ingest within 30 s.");
    }

    private static Task RunAsync(string workingDirectory, params string[] arguments) => DotnetCli.RunAsync(workingDirectory, arguments);
}
