using System.Net;
using System.Text.RegularExpressions;

namespace ErrorHub.Testing.Dashboard;

/// <summary>
/// The dashboard's forms as a browser posts them: the page is fetched first for its antiforgery token
/// (and cookie), then the form goes back with the token and the form's name.
/// </summary>
public static partial class DashboardForms
{
    /// <summary>A client that keeps cookies and shows redirects instead of following them.</summary>
    public static HttpClient NewClient(Uri baseAddress, CookieContainer? cookies = null) =>
        new(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false, UseCookies = true })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };

    /// <summary>Signs in through the login form; throws with the page's answer when that does not work.</summary>
    public static async Task SignInAsync(HttpClient client, string email, string password)
    {
        using var response = await PostLoginAsync(client, email, password);
        if (response.StatusCode != HttpStatusCode.Redirect)
        {
            throw new InvalidOperationException($"Signing in as {email} answered {(int)response.StatusCode}: {Problem(await response.Content.ReadAsStringAsync())}");
        }
    }

    public static Task<HttpResponseMessage> PostLoginAsync(HttpClient client, string email, string password, string page = "login") =>
        PostAsync(client, page, "login", new() { ["Input.Email"] = email, ["Input.Password"] = password });

    /// <summary>
    /// Posts a Blazor form (<paramref name="formName"/>) on <paramref name="page"/>, fetching the page first for its
    /// token (or <paramref name="tokenFrom"/>: any page's token is good for any form of the site).
    /// </summary>
    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string page, string formName, Dictionary<string, string> fields, string? tokenFrom = null)
    {
        var form = new Dictionary<string, string>(fields)
        {
            ["_handler"] = formName,
            ["__RequestVerificationToken"] = await AntiforgeryTokenAsync(client, tokenFrom ?? page),
        };
        using var content = new FormUrlEncodedContent(form);
        return await client.PostAsync(page, content);
    }

    /// <summary>
    /// The antiforgery token of <paramref name="page"/>'s forms, as a script in the page reads it (the client keeps
    /// the antiforgery cookie that comes with it); the JSON API takes it in the RequestVerificationToken header.
    /// </summary>
    public static async Task<string> AntiforgeryTokenAsync(HttpClient client, string page)
    {
        using var get = await client.GetAsync(page);
        var html = await get.Content.ReadAsStringAsync();
        var token = AntiforgeryField().Match(html);
        if (!token.Success)
        {
            throw new InvalidOperationException($"{page} ({(int)get.StatusCode}) has no antiforgery token:\n{html[..Math.Min(html.Length, 2000)]}");
        }

        return WebUtility.HtmlDecode(token.Groups["value"].Value);
    }

    /// <summary>The error a form shows, if any.</summary>
    public static string? Problem(string html) =>
        FormError().Match(html) is { Success: true } match ? WebUtility.HtmlDecode(match.Groups["text"].Value).Trim() : null;

    [GeneratedRegex(""""<input[^>]*name="__RequestVerificationToken"[^>]*value="(?<value>[^"]+)"|<input[^>]*value="(?<value>[^"]+)"[^>]*name="__RequestVerificationToken"""")]
    private static partial Regex AntiforgeryField();

    [GeneratedRegex("""<div class="form-error" role="alert">(?<text>[^<]*)</div>""")]
    private static partial Regex FormError();
}
