using System.Globalization;
using System.Text.Json;

namespace ErrorHub.Notifications;

/// <summary>
/// Reads a stored alert-settings document field by field, so that a document from an older version or edited by hand
/// (a field missing, null, of another type, a rule with an unknown trigger) still gives the project its alerts: what can be
/// read is kept, what cannot takes its default, and each such value is named in <see cref="AlertSettings.ReadProblems"/>
/// for the Alerts page to show. Fields it does not know are left alone.
/// </summary>
internal static class AlertSettingsJson
{
    private const int MaxProblems = 20;

    public static AlertSettings Read(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return AlertSettings.Default with { ReadProblems = ["The stored alert settings are not valid JSON: the default rules apply until the settings are saved again."] };
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Null)
            {
                return AlertSettings.Default;
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                return AlertSettings.Default with { ReadProblems = [$"The stored alert settings are {Describe(root)}, not an object: the default rules apply until the settings are saved again."] };
            }

            var problems = new List<string>();
            var rules = Property(root, "rules") is { } rulesElement
                ? ReadList(rulesElement, "rules", problems, ReadRule) ?? AlertSettings.Default.Rules
                : AlertSettings.Default.Rules; // never said: what a project that never saved its settings gets
            var addresses = Property(root, "extraAddresses") is { } addressesElement ? ReadList(addressesElement, "extra addresses", problems, ReadAddress) ?? [] : [];
            var optOuts = Property(root, "optOuts") is { } optOutsElement ? ReadList(optOutsElement, "members' switches", problems, ReadOptOut) ?? [] : [];
            return new AlertSettings
            {
                Rules = rules,
                ExtraAddresses = addresses,
                OptOuts = optOuts,
                ReadProblems = problems.Count > MaxProblems ? [.. problems.Take(MaxProblems), $"… and {(problems.Count - MaxProblems).ToString(CultureInfo.InvariantCulture)} more."] : problems,
            };
        }
    }

    /// <summary>The items of a list field; null (with a problem) when the field is no list. Items that cannot be read are left out, each with a problem.</summary>
    private static List<T>? ReadList<T>(JsonElement element, string name, List<string> problems, Func<JsonElement, int, List<string>, T?> read)
        where T : class
    {
        if (element.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"The stored {name} are {Describe(element)}, not a list, so they could not be read: none apply until the settings are saved again.");
            return null;
        }

        var items = new List<T>();
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            index++;
            if (read(item, index, problems) is { } value)
            {
                items.Add(value);
            }
        }

        return items;
    }

    private static AlertRule? ReadRule(JsonElement element, int index, List<string> problems)
    {
        var position = $"Stored rule {index.ToString(CultureInfo.InvariantCulture)}";
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{position} is {Describe(element)}, not a rule: it does not apply, and saving the rules drops it.");
            return null;
        }

        var id = Property(element, "id") is { ValueKind: JsonValueKind.String } idElement ? idElement.GetString() : null;
        if (string.IsNullOrWhiteSpace(id))
        {
            problems.Add($"{position} has no id: it does not apply, and saving the rules drops it.");
            return null;
        }

        var name = $"Rule '{Bounded(id)}'";
        if (ReadTrigger(Property(element, "trigger")) is not { } trigger)
        {
            problems.Add($"{name} has no trigger this server knows ({Describe(Property(element, "trigger"))}): it does not apply, and saving the rules drops it.");
            return null;
        }

        var defaults = new AlertRule(id, trigger);
        return defaults with
        {
            Enabled = Field(element, "enabled", name, "on-off setting", defaults.Enabled, problems, e => (e.ValueKind is JsonValueKind.True or JsonValueKind.False, e.ValueKind == JsonValueKind.True)),
            Environment = Field(element, "environment", name, "environment", defaults.Environment, problems, e => (e.ValueKind == JsonValueKind.String, e.ValueKind == JsonValueKind.String ? e.GetString() : null)),
            MinimumLevel = Field(element, "minimumLevel", name, "minimum level", defaults.MinimumLevel, problems, e =>
                e.ValueKind == JsonValueKind.String && e.GetString() is { } level && (string.IsNullOrWhiteSpace(level) || Storage.EventFilter.KnownLevels.Contains(level, StringComparer.OrdinalIgnoreCase)) ? (true, level) : (false, null)),
            Threshold = Field(element, "threshold", name, "threshold", defaults.Threshold, problems, WholeNumber),
            WindowMinutes = Field(element, "windowMinutes", name, "window", defaults.WindowMinutes, problems, Minutes),
            CooldownMinutes = Field(element, "cooldownMinutes", name, "cooldown", defaults.CooldownMinutes, problems, e => Minutes(e) is (true, var minutes) ? (true, minutes) : (false, (int?)null)),
        };
    }

    private static (bool Read, long Value) WholeNumber(JsonElement element) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var value) ? (true, value) : (false, 0);

    private static (bool Read, int Value) Minutes(JsonElement element) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var value) ? (true, value) : (false, 0);

    private static string? ReadAddress(JsonElement element, int index, List<string> problems)
    {
        if (element.ValueKind == JsonValueKind.String)
        {
            return element.GetString();
        }

        problems.Add($"Stored extra address {index.ToString(CultureInfo.InvariantCulture)} is {Describe(element)}, not an address: it gets no mail, and saving the addresses drops it.");
        return null;
    }

    private static AlertOptOut? ReadOptOut(JsonElement element, int index, List<string> problems)
    {
        if (element.ValueKind == JsonValueKind.Object
            && Property(element, "userId") is { ValueKind: JsonValueKind.String } user && Guid.TryParse(user.GetString(), out var userId)
            && ReadTrigger(Property(element, "trigger")) is { } trigger)
        {
            return new AlertOptOut(userId, trigger);
        }

        problems.Add($"A member's stored switch ({index.ToString(CultureInfo.InvariantCulture)}) could not be read ({Describe(element)}): that member gets that mail until they turn it off again.");
        return null;
    }

    private static AlertTrigger? ReadTrigger(JsonElement? element) =>
        element is { ValueKind: JsonValueKind.String } name && Enum.TryParse<AlertTrigger>(name.GetString(), ignoreCase: true, out var trigger) && Enum.IsDefined(trigger)
            && !int.TryParse(name.GetString(), out _)
            ? trigger
            : null;

    /// <summary>A rule's optional field: missing or null is its default; a value of another type is its default too, named as a problem.</summary>
    private static T Field<T>(JsonElement rule, string property, string ruleName, string label, T fallback, List<string> problems, Func<JsonElement, (bool Read, T Value)> read)
    {
        if (Property(rule, property) is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        if (read(element) is (true, var value))
        {
            return value;
        }

        problems.Add($"{ruleName}: its stored {label} ({Describe(element)}) could not be read, so the default applies until the rules are saved again.");
        return fallback;
    }

    /// <summary>The property of that name, matched ignoring case as a hand-edited document may spell it.</summary>
    private static JsonElement? Property(JsonElement element, string name)
    {
        if (element.TryGetProperty(name, out var exact))
        {
            return exact;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    private static string Describe(JsonElement? element) => element?.ValueKind switch
    {
        null or JsonValueKind.Undefined => "missing",
        JsonValueKind.Null => "null",
        JsonValueKind.String => $"the text \"{Bounded(element.Value.GetString() ?? "")}\"",
        JsonValueKind.Number => $"the number {Bounded(element.Value.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => $"the value {element.Value.GetRawText()}",
        JsonValueKind.Array => "a list",
        _ => "an object",
    };

    private static string Bounded(string text) => Content.Bounded.Text(text, 40);
}
