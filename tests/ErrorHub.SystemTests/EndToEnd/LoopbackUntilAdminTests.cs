using System.Net;
using System.Net.Sockets;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// The dashboard as a container image starts it (<c>ASPNETCORE_HTTP_PORTS</c>: every interface): until an admin
/// exists it listens on loopback only and says so; with an admin it listens where it was told. Whether it
/// listens on every interface is seen from 127.0.0.2, another loopback address: a socket bound to 127.0.0.1
/// does not answer there, one bound to all interfaces does.
/// </summary>
public sealed class LoopbackUntilAdminTests : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    // The lines were written before the dashboard answered; reading them from its output pipe can lag on a busy machine.
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(30);

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-loopback-").FullName;
    private readonly int _port = FreePort.Next();
    private TestProcess? _process;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Without_an_admin_it_listens_on_loopback_only_and_says_so_and_with_one_it_listens_on_every_interface()
    {
        await StartAsync(withAdmin: false);

        (await AnswersAsync("127.0.0.1")).Should().BeTrue();
        (await AnswersAsync("127.0.0.2")).Should().BeFalse($"no admin exists yet, so nothing but 127.0.0.1 is listened on:\n{_process!.Output}");
        await _process.Output.WaitForLineAsync(line => line.Contains($"listens on http://127.0.0.1:{_port} only, not on http://*:{_port}", StringComparison.Ordinal), LineTimeout);
        await _process.Output.WaitForLineAsync(line => line.Contains($"http://127.0.0.1:{_port}/setup?token=", StringComparison.Ordinal), LineTimeout);
        await _process.DisposeAsync();

        await StartAsync(withAdmin: true);

        (await AnswersAsync("127.0.0.2")).Should().BeTrue($"an admin exists, so the configured addresses are used:\n{_process.Output}");
        _process.Output.Lines.Should().NotContain(line => line.Contains("listens on", StringComparison.Ordinal) && line.Contains(" only", StringComparison.Ordinal));
    }

    private async Task StartAsync(bool withAdmin)
    {
        _process = TestProcess.StartDotnet(
            "dashboard",
            RepositoryPaths.BuiltAssembly("dashboard/ErrorHub.Dashboard"),
            [],
            new Dictionary<string, string?>
            {
                ["ErrorHub__DataDirectory"] = _directory,
                ["ErrorHub__Admin__Email"] = withAdmin ? "admin@example.com" : null,
                ["ErrorHub__Admin__Password"] = withAdmin ? "admin password 1" : null,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = null,
                ["DOTNET_URLS"] = null,
                ["ASPNETCORE_HTTPS_PORTS"] = null,
                // What official container images set.
                ["ASPNETCORE_HTTP_PORTS"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        await _process.WaitForHttpAsync(new Uri($"http://127.0.0.1:{_port}/healthz"), StartTimeout);
    }

    /// <summary>Whether /healthz answers at this address (naming localhost as the host, which host filtering allows).</summary>
    private async Task<bool> AnswersAsync(string address)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{address}:{_port}/healthz");
        request.Headers.Host = $"localhost:{_port}";
        try
        {
            using var response = await client.SendAsync(request);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            return false;
        }
    }
}
