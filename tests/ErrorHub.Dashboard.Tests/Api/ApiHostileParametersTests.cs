using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>
/// Every route of the JSON API, as the server's own endpoint data source lists it (so a new route is covered by itself),
/// with hostile values in each path parameter and query parameter and hostile bodies: huge, negative and not-a-number
/// numbers, dates far past and future, long strings, repeated parameters, unknown enum values, JSON nested 10,000 deep,
/// content types that lie. Each answer is a success or a 4xx with the API's JSON error, never a 5xx, and the server
/// keeps serving with nothing logged as an error.
/// </summary>
public sealed class ApiHostileParametersTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");

    /// <summary>The query parameters the API reads (docs/api.md), and some it does not.</summary>
    private static readonly string[] QueryNames =
        ["limit", "cursor", "q", "order", "status", "period", "release", "environment", "from", "offset"];

    private static readonly string[] HostileValues =
    [
        "99999999999999999999999", "-1", "-2147483649", "0", "NaN", "Infinity", "1e308", "0x10", "١٢", "true",
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "-271821-04-20", "+275760-09-13T00:00:00Z", "2024-02-30",
        "🙂", "%", "%00", "%C0%AF", "..%2F..%2F", "'\";--", "{\"$ne\":1}", "sideways", new string('x', 7 * 1024),
    ];

    /// <summary>
    /// Already escaped, sent as they stand (a hand-made or forged link): invalid UTF-8, an overlong slash, a lone surrogate,
    /// NUL, CR/LF, encoded slashes and dot segments, bidi controls, a broken escape.
    /// </summary>
    private static readonly string[] RawValues =
    [
        "%FF%FE", "%C0%AF", "%ED%A0%80", "%00", "a%00b", "%0D%0AX-Injected:%201", "%2F", "..%2F..%2Fprojects", "%2E%2E", "%E2%80%AE", "%G0",
    ];

    private ApiHost _api = null!;

    public async Task InitializeAsync()
    {
        var now = DateTimeOffset.UtcNow;
        _api = await ApiHost.StartAsync([.. Enumerable.Range(0, 5).Select(i => Create(1, Checkout, now.AddMinutes(-i - 1), title: "InvalidOperationException: checkout"))]);
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Every_api_route_answers_hostile_path_query_and_body_values_with_a_success_or_a_4xx_json_error_never_a_5xx()
    {
        var routes = ApiRoutes();
        routes.Select(r => r.Pattern).Should().Contain("/api/projects/{projectId}/issues/{fingerprint}/state", "the data source lists the API's routes");

        var requests = new List<(HttpMethod Method, string Path, HttpContent? Body)>();
        foreach (var (method, pattern, parameters) in routes)
        {
            // Each path parameter hostile in turn, the others plausible.
            foreach (var parameter in parameters)
            {
                foreach (var value in HostileValues.Append(new string('y', 100 * 1024)))
                {
                    requests.Add((method, Path(pattern, parameters, parameter, Uri.EscapeDataString(value)), null));
                }

                foreach (var value in RawValues)
                {
                    requests.Add((method, Path(pattern, parameters, parameter, value), null));
                }
            }

            var path = Path(pattern, parameters, null, null);
            foreach (var name in QueryNames)
            {
                foreach (var value in HostileValues)
                {
                    requests.Add((method, $"{path}?{name}={Uri.EscapeDataString(value)}", null));
                }

                foreach (var value in RawValues)
                {
                    requests.Add((method, $"{path}?{name}={value}", null));
                }

                requests.Add((method, $"{path}?{name}=1&{name}=2&{name}=", null));
            }

            requests.Add((method, path + "?" + string.Join('&', QueryNames.Select(n => n + "=" + new string('z', 100 * 1024 / QueryNames.Length))), null));
            if (method != HttpMethod.Get)
            {
                foreach (var body in HostileBodies())
                {
                    requests.Add((method, path, body));
                }
            }
        }

        var failures = new ConcurrentQueue<string>();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (request, cancellationToken) =>
        {
            using var message = new HttpRequestMessage(request.Method, request.Path) { Content = request.Body };
            using var response = await _api.Admin.SendAsync(message, cancellationToken);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var what = $"{request.Method} {request.Path[..Math.Min(request.Path.Length, 160)]} {request.Body?.Headers.ContentType}: {status} {text[..Math.Min(text.Length, 200)]}";
            if (status >= 500)
            {
                failures.Enqueue(what);
            }
            else if (status >= 400 && status is not (414 or 431) && !RefusedByTheHttpServer(request.Path, status, text) && !LeavesTheApi(request.Path) && !IsJsonError(response, text))
            {
                // 414 and 431 come from the HTTP server itself, before any route (a request line or headers past its limits).
                failures.Enqueue("not the API's JSON error: " + what);
            }
        });

        failures.Should().BeEmpty($"{requests.Count} requests over {routes.Count} routes");
        (await _api.Admin.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.OK);
        _api.Server.Logs.Errors.Should().BeEmpty();
    }

    /// <summary>The API's routes and their methods from the server's endpoint data source; ingest's own route (MessagePack, its own battery) left out.</summary>
    private List<(HttpMethod Method, string Pattern, string[] Parameters)> ApiRoutes() =>
        [.. _api.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.TrimStart('/') is { } raw && raw.StartsWith("api/", StringComparison.Ordinal) && raw != "api/{projectId}/events")
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Where(m => m != "HEAD").Select(m => (
                new HttpMethod(m),
                "/" + string.Join('/', e.RoutePattern.PathSegments.Select(Segment)),
                e.RoutePattern.Parameters.Select(p => p.Name).ToArray())))
            .Distinct()];

    private static string Segment(RoutePatternPathSegment segment) =>
        string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            RoutePatternSeparatorPart separator => separator.Content,
            _ => "",
        }));

    /// <param name="value">The hostile value of <paramref name="hostile"/>, escaped (or not) as the test means to send it.</param>
    private static string Path(string pattern, string[] parameters, string? hostile, string? value)
    {
        var path = pattern;
        foreach (var parameter in parameters)
        {
            var replacement = parameter == hostile ? value! : parameter switch
            {
                "projectId" => "1",
                "fingerprint" => Checkout,
                _ => "some-id",
            };
            path = path.Replace("{" + parameter + "}", replacement, StringComparison.Ordinal);
        }

        return path;
    }

    private static IEnumerable<HttpContent> HostileBodies()
    {
        yield return new StringContent(new string('[', 10_000) + new string(']', 10_000), Encoding.UTF8, "application/json");
        yield return new StringContent(string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000), Encoding.UTF8, "application/json");
        yield return new StringContent("{\"status\":\"resolved\",\"name\":\"x\",\"query\":\"q\"}", Encoding.UTF8, "text/plain");
        yield return new StringContent("status=resolved&name=x", Encoding.UTF8, "application/x-www-form-urlencoded");
        yield return new ByteArrayContent([0x82, 0xa6, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0xc1, 0xff]) { Headers = { ContentType = new("application/json") } };
        yield return new StringContent("{\"status\":" + new string('9', 100_000) + ",\"limit\":-1e308,\"until\":\"+275760-09-13T00:00:00Z\"}", Encoding.UTF8, "application/json");
        yield return new ByteArrayContent([]);
    }

    /// <summary>Kestrel refuses a path with an encoded NUL itself, before any route: 400 without a body (docs/api.md).</summary>
    private static bool RefusedByTheHttpServer(string path, int status, string text) =>
        status == 400 && text.Length == 0 && path.Split('?')[0].Contains("%00", StringComparison.Ordinal);

    /// <summary>Encoded dot segments are resolved before routing: <c>/api/%2E%2E/events</c> is <c>/events</c>, a page's path, no API request.</summary>
    private static bool LeavesTheApi(string path) => path.Split('?')[0].Contains("%2E%2E", StringComparison.OrdinalIgnoreCase);

    private static bool IsJsonError(HttpResponseMessage response, string text)
    {
        if (response.Content.Headers.ContentType?.MediaType is not ("application/json" or "application/problem+json"))
        {
            return false;
        }

        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.TryGetProperty("error", out var error) && error.GetString() is { Length: > 0 };
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
