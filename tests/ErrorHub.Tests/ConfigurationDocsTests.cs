using ErrorHub.Testing.Docs;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Tests;

/// <summary>
/// docs/configuration.md's SDK table against <see cref="ErrorHubOptions"/>: an app owner copies keys from it into
/// appsettings.json, where a misspelt or retired key is ignored without a word.
/// </summary>
public sealed class ConfigurationDocsTests
{
    private static readonly IReadOnlyList<ConfigurationDocs.DocumentedKey> Documented = ConfigurationDocs.Keys("SDK (");

    private static readonly IReadOnlyList<ConfigurationDocs.OptionKey> Options = ConfigurationDocs.Options<ErrorHubOptions>("");

    [Fact]
    public void Every_documented_sdk_key_exists_and_every_option_is_documented()
    {
        Documented.Should().HaveCountGreaterThan(15, "the page's SDK table was read");

        Documented.Select(k => k.Key).Should().BeEquivalentTo(Options.Select(o => o.Key),
            "docs/configuration.md lists exactly the options the SDK binds from the ErrorHub section");
    }

    [Fact]
    public void Documented_sdk_defaults_are_the_real_ones()
    {
        var options = Options.ToDictionary(o => o.Key);
        foreach (var key in Documented.Where(k => options.TryGetValue(k.Key, out var o) && o.Default is not null))
        {
            var value = options[key.Key].Default;
            if (value is IEnumerable<string> list)
            {
                // A list default is written as its items (ScrubbedHeaders' `Authorization`, `Proxy-Authorization`, ...), an
                // empty one as "empty".
                var items = list.Select(i => $"`{i}`").ToList();
                if (items.Count == 0)
                {
                    key.DefaultCell.Should().StartWith("empty", $"{key.Key} has no items by default");
                }
                else
                {
                    key.DefaultCell.Should().ContainAll(items, $"{key.Key}'s default list is written whole");
                }
            }
            else if (key.Default is not null)
            {
                key.Default.Should().Be(ConfigurationDocs.Format(value), $"{key.Key}'s documented default is the real one");
            }
        }
    }
}
