using System.Diagnostics;
using System.Runtime.InteropServices;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// A user's NativeAOT web API: <c>dotnet new webapiaot</c>, <c>dotnet add package ErrorHub.AspNetCore</c> from the SDK's
/// folder feed, the two documented lines, and <c>dotnet publish</c> with trim and AOT warnings as errors (so a warning
/// from the packages fails the publish, as it would fail a user's). The native executable then fails a request of a
/// signed-in user, twice, and dies of an exception nobody catches on a thread of its own: the events reach a real
/// ingest with the request, the user and the app's methods, and group as a user expects (docs/sdk.md, "NativeAOT").
/// Publishing compiles the app and the framework to machine code, minutes here: one test, one publish.
/// </summary>
public sealed class NativeAotWebAppTests : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-aot-app-").FullName;
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

    [Fact]
    public async Task A_NativeAOT_web_app_publishes_without_warnings_and_its_request_and_background_crashes_reach_ingest()
    {
        var app = Path.Combine(_directory, "app");
        await DotnetCli.RunAsync(_directory, "new", "webapiaot", "-o", app, "-n", "AotShop");
        await DotnetCli.RunAsync(app, "add", "package", "ErrorHub.AspNetCore", "--version", SdkFeed.Version);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using System.Runtime.CompilerServices;
            using System.Security.Claims;
            using AotShop;

            var builder = WebApplication.CreateSlimBuilder(args);
            builder.Services.AddErrorHub();
            var app = builder.Build();
            // Stands in for the app's authentication: every request is Ada's.
            app.Use((context, next) =>
            {
                context.User = new ClaimsPrincipal(new ClaimsIdentity(
                    [new Claim(ClaimTypes.NameIdentifier, "user-42"), new Claim(ClaimTypes.Name, "ada"), new Claim(ClaimTypes.Email, "ada@example.com")],
                    "shop-cookie"));
                return next(context);
            });
            app.UseErrorHub();
            app.MapGet("/", () => "AotShop");
            app.MapGet("/checkout/{cartId}", (string cartId) => Checkout.Pay(cartId));
            app.MapPost("/reconcile", () => { Reconciliation.Start(); return "started"; });
            app.Run();

            namespace AotShop
            {
                internal static class Checkout
                {
                    [MethodImpl(MethodImplOptions.NoInlining)]
                    public static string Pay(string cartId) => throw new InvalidOperationException("the payment provider refused the cart");
                }

                internal static class Reconciliation
                {
                    public static void Start() => new Thread(Run) { IsBackground = true, Name = "reconciliation" }.Start();

                    [MethodImpl(MethodImplOptions.NoInlining)]
                    private static void Run() => throw new FormatException("the ledger has a line that is not a number");
                }
            }
            """);

        // The AOT compiler's trim (IL2xxx) and AOT (IL3xxx) warnings as errors, one per warning rather than one per
        // assembly: whatever of our packages the app reaches is analyzed, and a warning from them fails the publish.
        // (Not every warning: the template's OpenAPI package restores with a NuGet warning of its own.)
        var published = Path.Combine(_directory, "published");
        await DotnetCli.RunAsync(app, "publish", "-c", "Release", "-r", RuntimeIdentifier(), "-o", published, "-nologo", "-v:q",
            "-p:PublishAot=true", "-p:IlcTreatWarningsAsErrors=true", "-p:TrimmerSingleWarn=false");
        var executable = Path.Combine(published, "AotShop");
        File.Exists(executable).Should().BeTrue("the publish makes one native executable");
        File.Exists(Path.Combine(published, "AotShop.dll")).Should().BeFalse("a NativeAOT publish has no IL assembly to run with dotnet");

        var url = FreePort.NextHttpUrl();
        await using var process = TestProcess.StartExecutable("aot-shop", executable, ["--urls", url.ToString().TrimEnd('/')],
            new Dictionary<string, string?>
            {
                ["ErrorHub__Dsn"] = _ingest.Dsn,
                ["ErrorHub__Release"] = "aot-shop@1.0.0",
                ["ASPNETCORE_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            });
        await process.WaitForHttpAsync(url, StartTimeout);

        using var http = new HttpClient { BaseAddress = url };
        foreach (var cart in new[] { "cart-1", "cart-2" })
        {
            using var response = await http.GetAsync($"/checkout/{cart}");
            ((int)response.StatusCode).Should().Be(500, process.Output.ToString());
        }

        var checkouts = await WaitForEventsAsync(2, process);
        checkouts.Should().AllSatisfy(stored =>
        {
            stored.Exceptions[0].Type.Should().Be("System.InvalidOperationException");
            stored.Exceptions[0].Value.Should().Be("the payment provider refused the cart");
            stored.Request!.Method.Should().Be("GET");
            stored.Request.Url.Should().Contain("/checkout/cart-");
            stored.User!.Id.Should().Be("user-42");
            stored.User.Username.Should().Be("ada");
            stored.User.Email.Should().Be("ada@example.com");
            stored.Release.Should().Be("aot-shop@1.0.0", "the configuration section is bound in a NativeAOT app too");
            stored.Exceptions[0].Frames.Where(f => f.InApp).Select(f => $"{f.Type}.{f.Function}").Should().Contain("AotShop.Checkout.Pay",
                "the app's methods are named from NativeAOT's stack trace data: {0}", Describe(stored));
            stored.Culprit.Should().Be("AotShop.Checkout.Pay", Describe(stored));
        });
        checkouts.Select(e => e.Fingerprint).Distinct().Should().ContainSingle("two carts failing the same way are one issue");

        using (var response = await http.PostAsync("/reconcile", content: null))
        {
            response.IsSuccessStatusCode.Should().BeTrue(process.Output.ToString());
        }

        (await process.WaitForExitAsync(StartTimeout)).Should().NotBe(0, "an exception nobody catches ends the process");
        var all = await WaitForEventsAsync(3, process);
        var crash = all.Single(e => e.Exceptions[0].Type == "System.FormatException");
        crash.Level.Should().Be("fatal");
        crash.Exceptions[0].Value.Should().Be("the ledger has a line that is not a number");
        crash.Exceptions[0].Frames.Where(f => f.InApp).Select(f => $"{f.Type}.{f.Function}").Should().Contain("AotShop.Reconciliation.Run", Describe(crash));
        crash.Culprit.Should().Be("AotShop.Reconciliation.Run", Describe(crash));
        crash.Fingerprint.Should().NotBe(checkouts[0].Fingerprint, "a different failure is a different issue");
    }

    private static string RuntimeIdentifier() => RuntimeInformation.RuntimeIdentifier;

    private static string Describe(ErrorEvent stored) =>
        $"frames: {string.Join(" | ", stored.Exceptions[0].Frames.Select(f => $"{f.Type}.{f.Function} in_app={f.InApp} {f.File}:{f.Line}"))}";

    private async Task<List<ErrorEvent>> WaitForEventsAsync(int count, TestProcess process)
    {
        var deadline = Stopwatch.StartNew();
        List<ErrorEvent> stored = [];
        while (deadline.Elapsed < EventTimeout)
        {
            stored = [.. (await _ingest.AllEventsAsync()).OrderBy(e => e.ReceivedAt)];
            if (stored.Count >= count)
            {
                return stored;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{stored.Count} of {count} events reached ingest within {EventTimeout.TotalSeconds:0} s.\n{process.Output}");
    }
}
