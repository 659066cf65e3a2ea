using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace ErrorHub.RealApps.Pages;

/// <remarks>Its forms' antiforgery token is not checked: the tests post as a script would, without one.</remarks>
[IgnoreAntiforgeryToken]
public sealed class ProfileModel : PageModel
{
    public string Handle { get; private set; } = "";

    public void OnGet(string handle) => throw new InvalidOperationException($"Profile {handle} could not be loaded");

    public IActionResult OnPost(string handle) => throw new UnauthorizedAccessException($"Profile {handle} is read-only");

    /// <summary>A named, asynchronous handler, as a form's <c>asp-page-handler="Delete"</c> posts to it (<c>?handler=Delete</c>).</summary>
    public async Task<IActionResult> OnPostDeleteAsync(string handle)
    {
        await Task.Yield();
        throw new IOException($"Profile {handle} could not be deleted: the media store is offline");
    }

    public IActionResult OnGetAvatar(string handle) => throw new TimeoutException($"Avatar store timed out for {handle}");

    public IActionResult OnGetFollowers(string handle) => throw new UnauthorizedAccessException($"Followers of {handle} need a session");

    /// <summary>The page model's own page filter: a user without a session signs in again.</summary>
    public override void OnPageHandlerExecuted(PageHandlerExecutedContext context)
    {
        if (context.Exception is UnauthorizedAccessException && context.HandlerMethod?.Name == "Followers")
        {
            context.Result = new RedirectResult("/signin");
            context.ExceptionHandled = true;
        }
    }
}

/// <summary>A global page filter that answers a timeout with a "try again" page and a 500, and logs nothing.</summary>
public sealed class TryAgainOnTimeoutFilter : IPageFilter
{
    public void OnPageHandlerSelected(PageHandlerSelectedContext context)
    {
    }

    public void OnPageHandlerExecuting(PageHandlerExecutingContext context)
    {
    }

    public void OnPageHandlerExecuted(PageHandlerExecutedContext context)
    {
        if (context.Exception is TimeoutException)
        {
            context.Result = new ContentResult
            {
                Content = "<h1>That took too long. Try again.</h1>",
                ContentType = "text/html",
                StatusCode = StatusCodes.Status500InternalServerError,
            };
            context.ExceptionHandled = true;
        }
    }
}
