using ErrorHub.Testing.Processes;
using Microsoft.Playwright;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// Screenshots go to the test output folder; with ERRORHUB_UPDATE_SCREENSHOTS=1 they also replace the
/// ones in docs/screenshots, which the docs show.
/// </summary>
internal static class Screenshots
{
    public const string UpdateVariable = "ERRORHUB_UPDATE_SCREENSHOTS";
    private const int MaxHeight = 4000;

    public static async Task<string> SaveAsync(IPage page, string fileName)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, fileName);

        // The layout scrolls inside its body, not the document, so a "full page" shot would stop at
        // the viewport: grow the viewport to the content for the shot, then put it back.
        var viewport = page.ViewportSize ?? new() { Width = 1440, Height = 900 };
        var contentHeight = await page.EvaluateAsync<int>(
            "() => { const body = document.querySelector('.rz-body'); return body ? body.getBoundingClientRect().top + body.scrollHeight : document.documentElement.scrollHeight; }");
        await page.SetViewportSizeAsync(viewport.Width, Math.Clamp(contentHeight, viewport.Height, MaxHeight));
        try
        {
            await page.ScreenshotAsync(new() { Path = path });
        }
        finally
        {
            await page.SetViewportSizeAsync(viewport.Width, viewport.Height);
        }

        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            var docs = Path.Combine(RepositoryPaths.Root, "docs", "screenshots");
            Directory.CreateDirectory(docs);
            File.Copy(path, Path.Combine(docs, fileName), overwrite: true);
        }

        return path;
    }
}
