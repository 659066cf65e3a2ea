using System.Text;
using ErrorHub.Storage;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

public sealed class UserHashTests
{
    [Theory]
    [InlineData("", 0xcbf29ce484222325UL)]
    [InlineData("a", 0xaf63dc4c8601ec8cUL)]
    [InlineData("foobar", 0x85944171f73967e8UL)]
    public void The_hash_is_fnv1a_64(string input, ulong expected)
    {
        // Published FNV-1a test vectors: stored user hashes must never change between releases.
        UserHash.Fnv1a64(Encoding.UTF8.GetBytes(input)).Should().Be(expected);
    }

    [Fact]
    public void No_user_hashes_to_the_reserved_zero_and_a_user_never_does()
    {
        UserHash.Of(null).Should().Be(UserHash.NoUser);
        UserHash.Of("").Should().Be(UserHash.NoUser);
        UserHash.Of("a").Should().Be(0xaf63dc4c8601ec8cUL);
        UserHash.Of("jdoe@example.com").Should().NotBe(UserHash.NoUser).And.NotBe(UserHash.Of("jdoe@example.org"));
    }
}
