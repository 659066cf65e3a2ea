using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>The HTTP status version 5 reads from an HTTP client's exception (docs/grouping.md, "Version 5").</summary>
public sealed class HttpStatusTests
{
    [Theory]
    [InlineData("System.Net.Http.HttpRequestException", "Response status code does not indicate success: 404 (Not Found).", "404")]
    [InlineData("System.Net.Http.HttpRequestException", "Response status code does not indicate success: 429 (Too Many Requests).", "429")]
    [InlineData("System.Net.WebException", "The remote server returned an error: (401) Unauthorized.", "401")]
    [InlineData("System.Net.WebException", "The remote server returned an error: (503) Server Unavailable.", "5xx")]
    [InlineData("Flurl.Http.FlurlHttpException", "Call failed with status code 400 (Bad Request): POST https://api.example.com/orders", "400")]
    [InlineData("Discord.Net.HttpException", "The server responded with error 500: 500: Internal Server Error", "5xx")]
    [InlineData("Telegram.Bot.Exceptions.ApiRequestException", "Forbidden: bot was blocked by the user", "403")]
    [InlineData("Telegram.Bot.Exceptions.ApiRequestException", "Bad Gateway", "5xx")]
    [InlineData("Shop.Clients.ApiException", "The HTTP status code of the response was not expected (404).", "404")]
    public void An_http_clients_exception_reports_its_status(string type, string message, string status) =>
        HttpStatus.Of(type, message).Should().Be(status);

    [Theory]
    [InlineData("System.Net.Http.HttpRequestException", "No such host is known. (setup.example.com:443)")]
    [InlineData("System.Net.Http.HttpRequestException", "Connection refused (localhost:5000)")]
    [InlineData("Discord.Net.HttpException", "The server responded with error 50013: Missing Permissions")]
    [InlineData("System.Net.Http.HttpRequestException", "The resource NotFoundHandler failed")]
    [InlineData("System.IO.FileNotFoundException", "Not Found: the price list")]
    [InlineData("System.InvalidOperationException", "Response status code does not indicate success: 404 (Not Found).")]
    [InlineData("System.Net.Http.HttpRequestException", "")]
    public void A_bare_number_a_word_inside_another_and_other_exceptions_report_none(string type, string message) =>
        HttpStatus.Of(type, message).Should().BeNull();
}
