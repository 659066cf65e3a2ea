using Microsoft.Playwright;
using Xunit;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// Debian's chromium driven by Playwright (no browser download): one browser per test collection,
/// a fresh context (cookies, storage) per test.
/// </summary>
/// <remarks>
/// A dashboard page is rendered on the server first and replaced when its circuit starts: an element found before then
/// can be gone when a test reads or clicks it. ERRORHUB_TEST_CIRCUIT_DELAY_MS holds back each circuit's start by that many
/// milliseconds (off when unset), so that a test whose clicks or typing need the live page but do not wait for it fails
/// every time instead of on a busy machine only.
/// </remarks>
public sealed class BrowserFixture : IAsyncLifetime
{
    private const string ChromiumPath = "/usr/bin/chromium";

    private static readonly TimeSpan CircuitDelay = ReadCircuitDelay();

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new FileNotFoundException($"Browser tests need chromium at {ChromiumPath}: apt-get install -y chromium", ChromiumPath);
        }

        Assertions.SetDefaultExpectTimeout(15_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        });
    }

    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new()
        {
            ViewportSize = new() { Width = 1440, Height = 900 },
            Locale = "en-US",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(15_000);
        if (CircuitDelay > TimeSpan.Zero)
        {
            await context.RouteAsync("**/_blazor/negotiate**", async route =>
            {
                await Task.Delay(CircuitDelay);
                await route.ContinueAsync();
            });
        }

        return await context.NewPageAsync();
    }

    private static TimeSpan ReadCircuitDelay()
    {
        var setting = Environment.GetEnvironmentVariable("ERRORHUB_TEST_CIRCUIT_DELAY_MS");
        if (string.IsNullOrWhiteSpace(setting))
        {
            return TimeSpan.Zero;
        }

        return int.TryParse(setting, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var milliseconds)
            ? TimeSpan.FromMilliseconds(milliseconds)
            : throw new InvalidOperationException($"ERRORHUB_TEST_CIRCUIT_DELAY_MS must be a whole number of milliseconds, not \"{setting}\".");
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
