namespace ErrorHub.Dashboard.Components.Layout;

/// <summary>
/// The name of a Radzen drop-down's inner input. The component's wrapper is the combobox and takes the <c>aria-label</c>
/// given to it, but the text input inside it, hidden from the accessibility tree, is labelled "Empty" by Radzen, and
/// readers that go by the input announced that; its <c>InputAttributes</c> give the input the wrapper's name.
/// </summary>
internal static class AccessibleName
{
    public static Dictionary<string, object> Of(string name) => new(StringComparer.Ordinal) { ["aria-label"] = name };
}
