using System.Net;
using System.Net.WebSockets;
using System.Text;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.Dashboard;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>
/// The dashboard's Blazor hub (<c>/_blazor</c>) under a hostile client, over real HTTP and WebSockets: garbage, truncated,
/// oversized and foreign-protocol frames, unknown methods, forged answers and navigations, circuits without end. Each
/// ends (at most) that connection; the dashboard keeps serving everyone else, with no error in its log.
/// </summary>
public sealed class BlazorHubHostileInputTests
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("garbage instead of the handshake")]
    [InlineData("the json protocol")]
    [InlineData("a handshake cut short")]
    [InlineData("a message of garbage")]
    [InlineData("a message of 10 MB")]
    [InlineData("a length prefix past 2 GB")]
    public async Task A_hostile_frame_ends_that_connection_only_and_the_dashboard_keeps_serving(string frame)
    {
        using var server = DashboardServer.Start();
        var cookies = new CookieContainer();
        using var client = server.NewClient(cookies);
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        var garbage = new byte[4096];
        new Random(frame.Length).NextBytes(garbage);

        await using (var hub = await BlazorHubClient.OpenAsync(server, client, cookies))
        {
            switch (frame)
            {
                case "garbage instead of the handshake":
                    await hub.SendBinaryAsync(garbage);
                    break;
                case "the json protocol":
                    await hub.SendTextAsync("{\"protocol\":\"json\",\"version\":1}\u001e");
                    break;
                case "a handshake cut short":
                    await hub.SendTextAsync(BlazorHubClient.Handshake[..10]);
                    await hub.SendTextAsync("\u001e");
                    break;
                default:
                    await hub.SendTextAsync(BlazorHubClient.Handshake);
                    try
                    {
                        await hub.SendBinaryAsync(frame switch
                        {
                            "a message of garbage" => BlazorHubClient.Frame(garbage),
                            "a message of 10 MB" => BlazorHubClient.Frame(new byte[10 * 1024 * 1024]),
                            _ => [0xff, 0xff, 0xff, 0xff, 0x0f, 0x96],
                        });
                    }
                    catch (WebSocketException)
                    {
                        // the hub closed the connection before all of it was sent (the 10 MB message)
                    }

                    break;
            }

            (await hub.ClosedWithinAsync(CloseTimeout)).Should().BeTrue("the hub ends a connection that breaks its protocol");
        }

        await ShouldServeAsync(server, client, cookies);
    }

    [Theory]
    [InlineData("an unknown method")]
    [InlineData("StartCircuit with 10 KB arguments that are no page's")]
    [InlineData("an answer to a JS call never made")]
    [InlineData("an answer of 20 KB of garbage to a JS call never made")]
    [InlineData("a byte array no one asked for")]
    [InlineData("a stream chunk no one asked for")]
    [InlineData("a render acknowledged that never was")]
    [InlineData("a navigation to another site")]
    [InlineData("a navigation of 20 KB")]
    public async Task Unknown_methods_forged_interop_answers_huge_arguments_and_navigations_to_other_sites_end_at_most_that_connection_and_log_no_error(string call)
    {
        using var server = DashboardServer.Start();
        var cookies = new CookieContainer();
        using var client = server.NewClient(cookies);
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);

        await using (var hub = await BlazorHubClient.ConnectAsync(server, client, cookies))
        {
            hub.BaseUri = server.BaseAddress.ToString();
            if (call == "an unknown method")
            {
                (await hub.InvokeAsync("NoSuchMethod", "x")).Error.Should().Contain("Method does not exist", "a clear answer");
            }
            else if (call.StartsWith("StartCircuit", StringComparison.Ordinal))
            {
                await ShouldStartNoCircuitAsync(hub, new string('u', 10_000), new string('u', 10_000), new string('[', 10_000), "");
            }
            else
            {
                (await hub.StartCircuitAsync()).Should().NotBeNullOrEmpty();
                await (call switch
                {
                    "an answer to a JS call never made" => hub.SendAsync("EndInvokeJSFromDotNet", 987654L, true, "[987654,true,{\"forged\":1}]"),
                    "an answer of 20 KB of garbage to a JS call never made" => hub.SendAsync("EndInvokeJSFromDotNet", -1L, false, new string('{', 20_000)),
                    "a byte array no one asked for" => hub.SendAsync("ReceiveByteArray", 12345, new byte[1000]),
                    "a stream chunk no one asked for" => hub.SendAsync("ReceiveJSDataChunk", 4242L, 0L, new byte[1000], null),
                    "a render acknowledged that never was" => hub.SendAsync("OnRenderCompleted", 999_999L, null),
                    "a navigation to another site" => hub.SendAsync("OnLocationChanged", "https://evil.example/projects/1/issues", null, false),
                    _ => hub.SendAsync("OnLocationChanged", hub.BaseUri + new string('p', 20_000), null, false),
                });
                await StillAnswersOrClosedAsync(hub);
            }
        }

        await ShouldServeAsync(server, client, cookies);
    }

    [Fact]
    public async Task Without_a_sign_in_no_transport_of_the_hub_and_not_its_disconnect_endpoint_answer_anything_but_401()
    {
        using var server = DashboardServer.Start();
        using var client = server.NewClient();
        using var forged = server.NewClient();
        forged.DefaultRequestHeaders.Add("Cookie", ".AspNetCore.ErrorHub.Cookie=" + new string('A', 3000));

        foreach (var (method, path) in new[]
        {
            (HttpMethod.Post, "/_blazor/negotiate?negotiateVersion=1"),
            (HttpMethod.Get, "/_blazor?id=anything"),
            (HttpMethod.Post, "/_blazor?id=anything"),
            (HttpMethod.Post, "/_blazor/disconnect"),
            (HttpMethod.Post, "/_blazor/initializers"),
            (HttpMethod.Get, "/_blazor/initializers"),
        })
        {
            foreach (var who in new[] { client, forged })
            {
                using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? new StringContent("circuitId=garbage", Encoding.UTF8, "application/x-www-form-urlencoded") : null };
                using var response = await who.SendAsync(request);
                ((int)response.StatusCode).Should().BeOneOf([401, 405], $"{method} {path}: the hub serves page data, nothing without a sign-in");
            }
        }

        using var socket = new ClientWebSocket();
        var refused = async () => await socket.ConnectAsync(new UriBuilder(server.BaseAddress) { Scheme = "ws", Path = "/_blazor", Query = "id=anything" }.Uri, CancellationToken.None);
        (await refused.Should().ThrowAsync<WebSocketException>()).Which.Message.Should().Contain("401");
        server.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("a message of 10 MB")]
    [InlineData("an unknown connection")]
    public async Task Long_polling_with_hostile_bodies_is_answered_without_a_5xx(string body)
    {
        using var server = DashboardServer.Start();
        var cookies = new CookieContainer();
        using var client = server.NewClient(cookies);
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        var token = body == "an unknown connection" ? "no-such-connection" : await BlazorHubClient.NegotiateAsync(client);

        using var handshake = await client.PostAsync($"/_blazor?id={token}", new StringContent(BlazorHubClient.Handshake));
        var garbage = new byte[body == "a message of 10 MB" ? 10 * 1024 * 1024 : 4096];
        new Random(1).NextBytes(garbage);
        using var send = await client.PostAsync($"/_blazor?id={token}", new ByteArrayContent(garbage));
        using var poll = await client.GetAsync($"/_blazor?id={token}");

        foreach (var response in new[] { handshake, send, poll })
        {
            ((int)response.StatusCode).Should().BeLessThan(500, $"{response.RequestMessage!.Method} answered {(int)response.StatusCode}");
        }

        if (body == "an unknown connection")
        {
            send.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        await ShouldServeAsync(server, client, cookies);
    }

    [Theory]
    [InlineData("no circuit id")]
    [InlineData("a forged circuit id")]
    [InlineData("a circuit id of 1 MB")]
    [InlineData("JSON")]
    public async Task The_disconnect_endpoint_answers_hostile_bodies_with_a_4xx_and_ends_no_circuit(string body)
    {
        using var server = DashboardServer.Start();
        var cookies = new CookieContainer();
        using var client = server.NewClient(cookies);
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        await using var hub = await BlazorHubClient.ConnectAsync(server, client, cookies);
        hub.BaseUri = server.BaseAddress.ToString();
        (await hub.StartCircuitAsync()).Should().NotBeNullOrEmpty();

        using HttpContent content = body switch
        {
            "no circuit id" => new FormUrlEncodedContent([]),
            "a forged circuit id" => new FormUrlEncodedContent([new("circuitId", "CfDJ8" + new string('A', 200))]),
            "a circuit id of 1 MB" => new FormUrlEncodedContent([new("circuitId", new string('A', 1024 * 1024))]),
            _ => new StringContent("{\"circuitId\":1}", Encoding.UTF8, "application/json"),
        };
        using var response = await client.PostAsync("/_blazor/disconnect", content);

        ((int)response.StatusCode).Should().BeInRange(400, 499);
        (await hub.InvokeAsync("NoSuchMethod")).Error.Should().Contain("Method does not exist", "the circuit's connection is untouched");
        await ShouldServeAsync(server, client, cookies);
    }

    [Fact]
    public async Task An_account_opens_at_most_its_bound_of_tabs_the_next_is_refused_with_one_warning_and_a_closed_tab_makes_room()
    {
        using var server = DashboardServer.Start(new() { ["ErrorHub:Access:OpenTabsPerAccount"] = "3" });
        var cookies = new CookieContainer();
        using var client = server.NewClient(cookies);
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var tabs = server.Services.GetRequiredService<OpenTabsPerAccount>();
        var open = new List<BlazorHubClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var hub = await BlazorHubClient.ConnectAsync(server, client, cookies);
                hub.BaseUri = server.BaseAddress.ToString();
                open.Add(hub);
                (await hub.StartCircuitAsync()).Should().NotBeNullOrEmpty($"tab {i + 1} of 3");
            }

            for (var refused = 0; refused < 5; refused++)
            {
                await using var extra = await BlazorHubClient.ConnectAsync(server, client, cookies);
                extra.BaseUri = server.BaseAddress.ToString();
                await ShouldBeRefusedAndClosedAsync(extra, "StartCircuit", [extra.BaseUri, extra.BaseUri, "[]", ""], "the account has 3 tabs open");
            }

            tabs.OpenTabs(admin!.Id).Should().Be(3);
            server.Logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("OpenTabsPerAccount", StringComparison.Ordinal))
                .Should().ContainSingle("a refused tab is logged once, not once per attempt");

            await open[0].DisposeAsync();
            open.RemoveAt(0);
            await WaitUntilAsync(() => tabs.OpenTabs(admin.Id) == 2);

            await using var again = await BlazorHubClient.ConnectAsync(server, client, cookies);
            again.BaseUri = server.BaseAddress.ToString();
            (await again.StartCircuitAsync()).Should().NotBeNullOrEmpty("a closed tab made room");
        }
        finally
        {
            foreach (var hub in open)
            {
                await hub.DisposeAsync();
            }
        }

        server.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData("nothing")]
    [InlineData("the start of a message it never finishes")]
    public async Task A_connection_that_asks_for_no_circuit_after_its_handshake_is_closed_at_the_deadline_and_a_tab_that_did_is_not(string sent)
    {
        // SignalR's client timeout counts only from a first whole message: both connections were held open for minutes.
        var deadline = TimeSpan.FromSeconds(1);
        using var server = DashboardServer.Start(testServices: services => services.AddSingleton(new CircuitStartDeadline(TimeProvider.System) { Deadline = deadline }));
        var cookies = new CookieContainer();
        using var client = server.NewClient(cookies);
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        await using var tab = await BlazorHubClient.ConnectAsync(server, client, cookies);
        tab.BaseUri = server.BaseAddress.ToString();
        (await tab.StartCircuitAsync()).Should().NotBeNullOrEmpty();

        await using (var silent = await BlazorHubClient.ConnectAsync(server, client, cookies))
        {
            if (sent != "nothing")
            {
                await silent.SendBinaryAsync([0xe8, 0x07, 1, 2, 3]); // declares a message of 1,000 bytes, sends 3 of them
            }

            (await silent.ClosedWithinAsync(CloseTimeout)).Should().BeTrue($"a connection that asks for no circuit is closed {deadline} after its handshake, well within {CloseTimeout}");
        }

        (await tab.InvokeAsync("NoSuchMethod")).Error.Should().Contain("Method does not exist", "a tab that asked for its circuit is not held to the deadline");
        await ShouldServeAsync(server, client, cookies);
    }

    [Fact]
    public async Task A_resumed_circuit_counts_as_a_tab_and_past_the_bound_is_refused_like_a_new_one()
    {
        using var server = DashboardServer.Start(new() { ["ErrorHub:Access:OpenTabsPerAccount"] = "1" });
        var cookies = new CookieContainer();
        using var client = server.NewClient(cookies);
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var tabs = server.Services.GetRequiredService<OpenTabsPerAccount>();
        var baseUri = server.BaseAddress.ToString();

        // A tab pauses its circuit (.NET 10 keeps its state on the server) and goes: the account has no tab open.
        string paused;
        await using (var first = await BlazorHubClient.ConnectAsync(server, client, cookies))
        {
            first.BaseUri = baseUri;
            paused = (await first.StartCircuitAsync())!;
            (await first.InvokeAsync("PauseCircuit")).Value.Should().Be(true);
        }

        await WaitUntilAsync(() => tabs.OpenTabs(admin!.Id) == 0);
        var open = await BlazorHubClient.ConnectAsync(server, client, cookies);
        open.BaseUri = baseUri;
        (await open.StartCircuitAsync()).Should().NotBeNullOrEmpty();

        await using (var resuming = await BlazorHubClient.ConnectAsync(server, client, cookies))
        {
            await ShouldBeRefusedAndClosedAsync(resuming, "ResumeCircuit", [paused, baseUri, baseUri, "[]", ""], "the account has its one tab open: a resume is a tab too");
        }

        tabs.OpenTabs(admin!.Id).Should().Be(1);
        server.Logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("OpenTabsPerAccount", StringComparison.Ordinal))
            .Should().ContainSingle("the refused resume is logged like a refused start");

        await open.DisposeAsync();
        await WaitUntilAsync(() => tabs.OpenTabs(admin.Id) == 0);
        await using var again = await BlazorHubClient.ConnectAsync(server, client, cookies);
        (await again.InvokeAsync("ResumeCircuit", paused, baseUri, baseUri, "[]", "")).Value.Should().BeOfType<string>("a closed tab made room for the paused one");
        tabs.OpenTabs(admin.Id).Should().Be(1, "the resumed circuit counts");
        server.Logs.Errors.Should().BeEmpty();
    }

    /// <summary>The dashboard still serves: its health, its pages, and a new tab's circuit; nothing logged as an error.</summary>
    private static async Task ShouldServeAsync(DashboardServer server, HttpClient client, CookieContainer cookies)
    {
        (await client.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK);
        await using var hub = await BlazorHubClient.ConnectAsync(server, client, cookies);
        hub.BaseUri = server.BaseAddress.ToString();
        (await hub.StartCircuitAsync()).Should().NotBeNullOrEmpty("a new tab still gets its circuit");
        server.Logs.Errors.Should().BeEmpty();
    }

    /// <summary>
    /// A tab refused for its account's bound: no circuit (answered null, or the answer cut short by the close), and its
    /// connection closed. Until December 2026 the connection stayed open, a way to hold connections past the bound.
    /// </summary>
    private static async Task ShouldBeRefusedAndClosedAsync(BlazorHubClient hub, string method, object?[] arguments, string because)
    {
        try
        {
            (await hub.InvokeAsync(method, arguments)).Value.Should().BeNull(because);
        }
        catch (HubClosedException)
        {
            // the answer was lost with the connection: no circuit either
        }

        (await hub.ClosedWithinAsync(CloseTimeout)).Should().BeTrue($"the refused connection is closed, well within {CloseTimeout}");
    }

    /// <summary>A start the hub refuses: answered null (no circuit) or the connection ended.</summary>
    private static async Task ShouldStartNoCircuitAsync(BlazorHubClient hub, params object?[] arguments)
    {
        try
        {
            (await hub.InvokeAsync("StartCircuit", arguments)).Value.Should().BeNull("no circuit starts");
        }
        catch (HubClosedException)
        {
            // the hub ended the connection: no circuit either
        }
    }

    /// <summary>The connection either still answers (the call was ignored) or was ended by the hub; nothing in between.</summary>
    private static async Task StillAnswersOrClosedAsync(BlazorHubClient hub)
    {
        try
        {
            (await hub.InvokeAsync("NoSuchMethod")).Error.Should().Contain("Method does not exist");
        }
        catch (HubClosedException)
        {
            // the hub ended that tab's connection
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var waited = 0; !condition(); waited += 50)
        {
            waited.Should().BeLessThan(20_000, "the server notices a closed connection within moments");
            await Task.Delay(50);
        }
    }
}
