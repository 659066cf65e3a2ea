using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using ErrorHub.Testing.Processes;

namespace ErrorHub.Testing.Docs;

/// <summary>
/// The keys and defaults that docs/configuration.md's tables promise, and the ones the options classes really have,
/// so a test can hold the two together: a reader copies keys from that page into their environment, and a key that
/// does not exist is silently ignored by .NET configuration.
/// </summary>
public static partial class ConfigurationDocs
{
    /// <summary>One documented key, its default as a value when the page writes one (`90`), its whole default cell.</summary>
    public sealed record DocumentedKey(string Key, string? Default, string DefaultCell, string Section);

    /// <summary>One settable option of a class, its configuration key and its value in a new instance.</summary>
    public sealed record OptionKey(string Key, Type Type, object? Default);

    /// <summary>
    /// The keys of every table whose first column is <c>key</c>, under the section (a heading) whose title starts with
    /// <paramref name="sectionTitle"/> and its subsections; a subsection titled like "Ingest limits (`ErrorHub:Ingest`)"
    /// prefixes its relative keys with that path. A cell may name several keys (`A`, `B` or `A` / `B`); a cell like
    /// "`ErrorHub:Store:ClickHouse:User` / `Password`" names its second key relative to the first's parent.
    /// </summary>
    public static IReadOnlyList<DocumentedKey> Keys(string sectionTitle)
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "docs", "configuration.md"));
        var keys = new List<DocumentedKey>();
        var inSection = false;
        var sectionLevel = 0;
        var prefix = "";
        var heading = "";
        var inKeyTable = false;
        foreach (var line in lines)
        {
            var headingMatch = HeadingPattern().Match(line);
            if (headingMatch.Success)
            {
                var level = headingMatch.Groups[1].Length;
                var title = headingMatch.Groups[2].Value;
                if (title.StartsWith(sectionTitle, StringComparison.Ordinal))
                {
                    inSection = true;
                    sectionLevel = level;
                    prefix = "";
                }
                else if (inSection && level <= sectionLevel)
                {
                    inSection = false;
                }
                else if (inSection)
                {
                    var path = SectionPathPattern().Match(title);
                    prefix = path.Success ? path.Groups[1].Value + ":" : "";
                }

                heading = title;
                inKeyTable = false;
                continue;
            }

            if (!inSection || !line.StartsWith('|'))
            {
                inKeyTable = false;
                continue;
            }

            var cells = line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            if (cells[0] == "key")
            {
                inKeyTable = true;
                continue;
            }

            if (!inKeyTable || cells[0].StartsWith("---", StringComparison.Ordinal))
            {
                continue;
            }

            var names = CodePattern().Matches(cells[0]).Select(m => m.Groups[1].Value).ToList();
            var defaults = cells.Length > 1 && cells[1].StartsWith('`')
                ? CodePattern().Matches(cells[1]).Select(m => m.Groups[1].Value).ToList()
                : [];
            for (var i = 0; i < names.Count; i++)
            {
                var name = names[i];
                if (i > 0 && !name.Contains(':') && names[0].Contains(':'))
                {
                    name = names[0][..(names[0].LastIndexOf(':') + 1)] + name;
                }

                // Several keys with several defaults pair up; several keys with one default share it.
                var value = defaults.Count == names.Count ? defaults[i] : defaults.Count == 1 ? defaults[0] : null;
                keys.Add(new DocumentedKey(prefix + name, value, cells.Length > 1 ? cells[1] : "", heading));
            }
        }

        return keys;
    }

    /// <summary>
    /// The configuration keys of <typeparamref name="T"/>'s public properties that configuration binding can set (a
    /// setter, or a collection it fills), under <paramref name="prefix"/>; properties of our own options types are
    /// walked into. Delegates are code-only and left out.
    /// </summary>
    public static IReadOnlyList<OptionKey> Options<T>(string prefix) where T : new() => Walk(typeof(T), new T(), prefix);

    /// <summary>How the docs write a default: invariant numbers, lower-case booleans, TimeSpans as <c>c</c>.</summary>
    public static string? Format(object? value) => value switch
    {
        null => null,
        bool b => b ? "true" : "false",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static List<OptionKey> Walk(Type type, object instance, string prefix)
    {
        var keys = new List<OptionKey>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var propertyType = property.PropertyType;
            var key = prefix + property.Name;
            if (typeof(Delegate).IsAssignableFrom(propertyType) || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var value = property.GetValue(instance);
            var isCollection = propertyType != typeof(string) && typeof(IEnumerable).IsAssignableFrom(propertyType);
            if (property.SetMethod is not { IsPublic: true } && !isCollection)
            {
                continue;
            }

            if (propertyType.IsClass && propertyType != typeof(string) && !isCollection && value is not null)
            {
                keys.AddRange(Walk(propertyType, value, key + ":"));
                continue;
            }

            keys.Add(new OptionKey(key, propertyType, value));
        }

        return keys;
    }

    [GeneratedRegex(@"^(#{2,4})\s+(.*)$")]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"\(`([A-Za-z:]+)`\)")]
    private static partial Regex SectionPathPattern();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex CodePattern();
}
