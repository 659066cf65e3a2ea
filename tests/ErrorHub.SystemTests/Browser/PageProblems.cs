using Microsoft.Playwright;

namespace ErrorHub.SystemTests.Browser;

/// <summary>What a user would see go wrong without reading the page: console errors, script errors, server errors.</summary>
internal sealed class PageProblems
{
    private readonly List<string> _problems = [];
    private readonly Lock _lock = new();

    private PageProblems()
    {
    }

    public IReadOnlyList<string> All
    {
        get
        {
            lock (_lock)
            {
                return [.. _problems];
            }
        }
    }

    public static PageProblems Watch(IPage page)
    {
        var problems = new PageProblems();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add($"console error: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => problems.Add($"script error: {error}");
        page.Response += (_, response) =>
        {
            if (response.Status >= 500)
            {
                problems.Add($"HTTP {response.Status} {response.Request.Method} {response.Url}");
            }
        };
        return problems;
    }

    private void Add(string problem)
    {
        lock (_lock)
        {
            _problems.Add(problem);
        }
    }
}
