using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>
/// What every JSON API test starts from: the real dashboard (<see cref="DashboardServer"/>) on the store the settings
/// name, with the given events, and <see cref="Admin"/>, a client that sends its admin's API token. Also clients for
/// other accounts' tokens and a member of another project, and the checks the API tests share.
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    private ApiHost(DashboardServer server, HttpClient admin)
    {
        Server = server;
        Admin = admin;
    }

    public DashboardServer Server { get; }

    /// <summary>Sends the admin's API token (<c>Authorization: Bearer</c>).</summary>
    public HttpClient Admin { get; }

    /// <param name="settings">The server's settings beyond the defaults, e.g. a ClickHouse store; none: its own SQLite file.</param>
    public static async Task<ApiHost> StartAsync(IEnumerable<ErrorEvent>? events = null, Dictionary<string, string?>? settings = null)
    {
        var server = DashboardServer.Start(settings);
        try
        {
            if (events is not null)
            {
                await server.Services.GetRequiredService<IEventWriter>().InsertEventsAsync([.. events]);
            }

            var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail) ?? throw new InvalidOperationException("no admin");
            return new ApiHost(server, await TokenClientAsync(server, admin.Id));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public Task InsertAsync(params ErrorEvent[] events) => Server.Services.GetRequiredService<IEventWriter>().InsertEventsAsync(events);

    public async Task<UserAccount> AdminAccountAsync() =>
        await Server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail) ?? throw new InvalidOperationException("no admin");

    /// <summary>A client that sends a new API token of <paramref name="userId"/>.</summary>
    public Task<HttpClient> TokenClientAsync(Guid userId) => TokenClientAsync(Server, userId);

    /// <summary>A client that sends <paramref name="secret"/> as its bearer token, whatever it is.</summary>
    public HttpClient BearerClient(string secret)
    {
        var client = Server.NewClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + secret);
        return client;
    }

    /// <summary>A member of a project of their own ("Other"), not of project 1, with a token client.</summary>
    public async Task<(Project Project, UserAccount Member, HttpClient Client)> OutsiderAsync()
    {
        var other = await Server.Projects.CreateProjectAsync("Other", "other-project-key-0123456789", DateTimeOffset.UtcNow);
        var outsider = await Server.CreateMemberAsync("outsider@example.com", "member password 1", other.Id);
        return (other, outsider, await TokenClientAsync(outsider.Id));
    }

    /// <summary>GETs <paramref name="path"/> as the admin (or <paramref name="client"/>) and expects 200 with JSON.</summary>
    public async Task<JsonElement> GetJsonAsync(string path, HttpClient? client = null)
    {
        using var response = await (client ?? Admin).GetAsync(path);
        return await JsonAsync(response, path);
    }

    /// <summary>The JSON of a 200 answer; any other status fails with the answer's body.</summary>
    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, string? what = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, $"{what} answered {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The <c>error</c> of an API's JSON refusal.</summary>
    public static async Task<string?> ErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/json", body);
        return JsonDocument.Parse(body).RootElement.GetProperty("error").GetString();
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await Server.DisposeAsync();
    }

    private static async Task<HttpClient> TokenClientAsync(DashboardServer server, Guid userId)
    {
        var created = await server.Accounts.CreateApiTokenAsync(userId, "tests");
        var client = server.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.Value.Secret ?? throw new InvalidOperationException(created.Problem));
        return client;
    }
}
