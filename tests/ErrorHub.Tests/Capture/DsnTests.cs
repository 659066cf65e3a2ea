using ErrorHub.Internal;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Tests.Capture;

public sealed class DsnTests
{
    [Theory]
    [InlineData("http://key0123456789abcd@127.0.0.1:5080/1", "key0123456789abcd", 1, "http://127.0.0.1:5080/api/1/events")]
    [InlineData("https://abc@errors.example.com/42", "abc", 42, "https://errors.example.com/api/42/events")]
    [InlineData("https://abc@example.com/errorhub/7", "abc", 7, "https://example.com/errorhub/api/7/events")]
    [InlineData("  http://abc@host:81/3/  ", "abc", 3, "http://host:81/api/3/events")]
    public void A_DSN_gives_the_key_the_project_and_where_to_send(string text, string key, int projectId, string eventsUri)
    {
        var dsn = Dsn.Parse(text);

        dsn.PublicKey.Should().Be(key);
        dsn.ProjectId.Should().Be(projectId);
        dsn.EventsUri.Should().Be(new Uri(eventsUri));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("not a url", "absolute http")]
    [InlineData("ftp://abc@host/1", "absolute http")]
    [InlineData("http://host:5080/1", "no public key")]
    [InlineData("http://abc@host:5080/", "positive project id")]
    [InlineData("http://abc@host:5080/shop", "positive project id, not 'shop'")]
    [InlineData("http://abc@host:5080/0", "positive project id")]
    public void A_malformed_DSN_is_refused_with_a_reason(string text, string reason)
    {
        Dsn.TryParse(text, out var dsn, out var error).Should().BeFalse();

        dsn.Should().BeNull();
        error.Should().Contain(reason);
    }
}
