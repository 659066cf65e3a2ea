using System.Net;
using ErrorHub.AspNetCore.Tests.Infrastructure;
using ErrorHub.AspNetCore.Tests.Reporting;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Context;

/// <summary>
/// A form whose field names hold zero-width characters, posted to a real app that reports to the real ingest on a real
/// SQLite file: every field arrives and is stored, and a name made of a sensitive word with a zero-width character in it
/// is filtered as the word is. A NUL in a name makes ASP.NET Core refuse the whole form, before ErrorHub sees anything.
/// </summary>
public sealed class HostileFormNamesTests : IAsyncLifetime
{
    private readonly CompletedRequests _completed = new();
    private IngestHost _ingest = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private readonly System.Collections.Concurrent.ConcurrentQueue<ErrorHubEvent> _sent = new();

    public async Task InitializeAsync()
    {
        _ingest = await IngestHost.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddErrorHub(o =>
        {
            o.Dsn = _ingest.Dsn;
            o.BeforeSend = (e, _) =>
            {
                _sent.Enqueue(e);
                return e;
            };
        });
        _app = builder.Build();
        _app.Use(_completed.Track);
        _app.UseExceptionHandler(error => error.Run(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        }));
        _app.UseErrorHub();
        _app.MapPost("/signup", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            return Shop.Checkout(form["plan"].ToString());
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _ingest.DisposeAsync();
    }

    [Fact]
    public async Task Field_names_with_zero_width_characters_arrive_with_every_other_field_and_hidden_sensitive_words_are_filtered()
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("plan", "pro"),
            new("email", "jane@example.com"),
            new("\u200Bcolour\u200D", "teal"),
            new("pass\u200Bword", "zero-width-s3cr3t"),
            new("to\u200Cken", "zero-width-s3cr3t"),
            new("ca\u2060rd", "zero-width-s3cr3t"),
            new("\uFEFFpin", "zero-width-s3cr3t"),
        };

        using var response = await _http.PostAsync("/signup", new FormUrlEncodedContent(fields));
        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        await _completed.WaitForAllAsync();
        (await _app.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(15))).Should().BeTrue();

        var form = (await _ingest.AllEventsAsync()).Should().ContainSingle().Subject.Request!.Form;
        form.Should().NotBeNull("the form the app read is stored, odd names and all");
        form!.Keys.Should().BeEquivalentTo(fields.Select(f => f.Key), "every field arrives, under its name as posted");
        form["plan"].Should().Be("pro");
        form["email"].Should().Be("jane@example.com");
        form["\u200Bcolour\u200D"].Should().Be("teal");
        foreach (var hidden in fields.Skip(3).Select(f => f.Key))
        {
            form[hidden].Should().Be("[Filtered]", "a zero-width character inside a sensitive word does not hide it");
        }

        form.Values.Should().NotContain(v => v.Contains("s3cr3t"));
    }

    [Fact]
    public async Task A_NUL_in_a_field_name_makes_the_apps_own_form_read_fail_and_that_failure_is_reported_without_a_form()
    {
        // ASP.NET Core's form reader refuses the whole form (InvalidDataException, "The form value contains invalid
        // characters."): the app never has the form, and ErrorHub never reads a body, so no field can arrive.
        using var response = await _http.PostAsync("/signup", new FormUrlEncodedContent([new("plan", "pro"), new("nick\0name", "janey")]));
        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        await _completed.WaitForAllAsync();
        (await _app.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(15))).Should().BeTrue();

        var sent = _sent.Should().ContainSingle().Subject;
        sent.Exceptions[0].Type.Should().Be("System.IO.InvalidDataException");
        sent.Exceptions[0].Value.Should().Contain("invalid characters");
        var stored = (await _ingest.AllEventsAsync()).Should().ContainSingle().Subject;
        stored.Request!.Form.Should().BeNull("the app read no form");
        stored.Exceptions[0].Type.Should().Be("System.IO.InvalidDataException");
    }
}
