using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace ErrorHub.RealApps.Pages;

public sealed class ProfileModel : PageModel
{
    public string Handle { get; private set; } = "";

    public void OnGet(string handle) => throw new InvalidOperationException($"Profile {handle} could not be loaded");

    public IActionResult OnPost(string handle) => throw new UnauthorizedAccessException($"Profile {handle} is read-only");
}
