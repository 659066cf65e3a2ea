using ErrorHub.AspNetCore.Tests.Infrastructure;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Privacy;

/// <summary>
/// Query-string values of parameters named like credentials never leave the app; everything else is kept as the
/// client sent it, so the URL in the dashboard still says what was asked. Real requests through the real middleware.
/// </summary>
public sealed class QueryStringScrubbingTests : IAsyncLifetime
{
    private CapturingApp _app = null!;

    public async Task InitializeAsync() => _app = await CapturingApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData("password")]
    [InlineData("passwd")]
    [InlineData("pwd")]
    [InlineData("secret")]
    [InlineData("token")]
    [InlineData("api_key")]
    [InlineData("apikey")]
    [InlineData("access_token")]
    [InlineData("refresh_token")]
    [InlineData("auth")]
    [InlineData("key")]
    [InlineData("signature")]
    [InlineData("sig")]
    [InlineData("code")]
    [InlineData("session")]
    public async Task The_value_of_each_sensitive_parameter_is_filtered_and_its_neighbours_are_kept(string name)
    {
        var e = await _app.EventForAsync($"/orders?page=2&{name}=s3cr3t-value&sort=date");

        e.Request!.QueryString.Should().Be($"page=2&{name}=[Filtered]&sort=date");
    }

    [Theory]
    [InlineData("PASSWORD=s3cr3t-value", "PASSWORD=[Filtered]")]
    [InlineData("Access_Token=s3cr3t-value", "Access_Token=[Filtered]")]
    [InlineData("ApiKey=s3cr3t-value", "ApiKey=[Filtered]")]
    public async Task Names_match_whatever_their_case(string query, string expected)
    {
        var e = await _app.EventForAsync($"/orders?{query}");

        e.Request!.QueryString.Should().Be(expected);
    }

    [Theory]
    [InlineData("%70assword=s3cr3t-value", "%70assword=[Filtered]")]
    [InlineData("api%5Fkey=s3cr3t-value", "api%5Fkey=[Filtered]")]
    [InlineData("ACCESS%5fTOKEN=s3cr3t-value", "ACCESS%5fTOKEN=[Filtered]")]
    [InlineData("%74%6F%6B%65%6E=s3cr3t-value", "%74%6F%6B%65%6E=[Filtered]")]
    public async Task Percent_encoded_names_are_recognised_and_kept_as_sent(string query, string expected)
    {
        var e = await _app.EventForAsync($"/orders?{query}");

        e.Request!.QueryString.Should().Be(expected);
    }

    [Fact]
    public async Task Every_occurrence_of_a_repeated_parameter_is_filtered()
    {
        var e = await _app.EventForAsync("/orders?token=first-s3cr3t&page=1&token=second-s3cr3t&TOKEN=third-s3cr3t");

        e.Request!.QueryString.Should().Be("token=[Filtered]&page=1&token=[Filtered]&TOKEN=[Filtered]");
    }

    [Fact]
    public async Task A_name_without_a_value_has_nothing_to_hide_and_is_kept()
    {
        var e = await _app.EventForAsync("/orders?token&page=2&password=&debug");

        e.Request!.QueryString.Should().Be("token&page=2&password=[Filtered]&debug");
    }

    [Theory]
    [InlineData("token+=s3cr3t-value", "token+=[Filtered]")]
    [InlineData("+password=s3cr3t-value", "+password=[Filtered]")]
    [InlineData("access_token++=s3cr3t-value", "access_token++=[Filtered]")]
    public async Task A_name_padded_with_plus_signs_form_encoded_spaces_is_still_recognised(string query, string expected)
    {
        var e = await _app.EventForAsync($"/orders?{query}");

        e.Request!.QueryString.Should().Be(expected);
    }

    [Fact]
    public async Task Plus_signs_and_equals_signs_inside_a_value_do_not_let_any_of_it_through()
    {
        var e = await _app.EventForAsync("/orders?secret=a+b%2Bc=d==e&q=red+shoes");

        e.Request!.QueryString.Should().Be("secret=[Filtered]&q=red+shoes");
    }

    [Theory]
    [InlineData("author=jane&keyword=shoes&postcode=10115&tokenizer=ws&sessions=3")]
    [InlineData("my_password_hint=pet&api_key_name=billing")]
    public async Task Names_that_merely_contain_a_sensitive_word_are_kept(string query)
    {
        var e = await _app.EventForAsync($"/orders?{query}");

        e.Request!.QueryString.Should().Be(query, "over-scrubbing would hide what the request asked for");
    }

    [Fact]
    public async Task A_very_long_query_string_is_cut_to_4096_characters_after_scrubbing()
    {
        var filler = new string('x', 6000);
        var e = await _app.EventForAsync($"/search?password=hunter2&q={filler}&token=late-s3cr3t");

        var query = e.Request!.QueryString!;
        query.Should().HaveLength(4096);
        query.Should().StartWith("password=[Filtered]&q=xxxx");
        query.Should().NotContain("hunter2");
    }
}
