using System.Text.RegularExpressions;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// Version 17: the HRESULT a COM error reports. One interop call of the app's (Excel's <c>Range</c> written, Core Audio's default endpoint
/// asked for) fails in several ways from the same frames, and only the error code tells them apart: "Exception from HRESULT: 0x800A03EC"
/// and "0x80020009 (DISP_E_EXCEPTION)" from one app method are two failures (docs/grouping.md, "Version 17"). Read from the message, as
/// every runtime prints it whatever its language: the first <c>0x</c> and eight hex digits, or <c>E_FAIL</c>, which .NET names instead
/// ("Error HRESULT E_FAIL has been returned from a call to a COM component."). The SDK sends no HRESULT of its own: the message is what an
/// event carries.
/// </summary>
internal static partial class ComErrorCode
{
    /// <summary>The component's kind, shown as "COM error code" under "Why grouped".</summary>
    public const string Kind = GroupingComponent.ErrorCode;

    private const string Fail = "0x80004005";

    /// <summary>Whether the exception type is a COM error (<c>System.Runtime.InteropServices.COMException</c>, or a library's subclass named so).</summary>
    public static bool IsComException(string? typeName) =>
        !string.IsNullOrEmpty(typeName) && typeName.AsSpan().TrimEnd().EndsWith("COMException", StringComparison.Ordinal);

    /// <summary>The HRESULT the message reports, as <c>0x</c> and eight upper-case hex digits; null when it names none or the type is no COM error.</summary>
    public static string? Of(string typeName, string? message)
    {
        if (!IsComException(typeName) || string.IsNullOrEmpty(message))
        {
            return null;
        }

        var text = message.AsSpan(0, Math.Min(message.Length, Grouper.MaxParameterizedChars));
        foreach (var code in HexCode().EnumerateMatches(text))
        {
            // Enumerated, not matched: a ValueMatch allocates nothing.
            return string.Concat("0x", text.Slice(code.Index + 2, 8).ToString().ToUpperInvariant());
        }

        return NamedFail().IsMatch(text) ? Fail : null;
    }

    [GeneratedRegex(@"\b0[xX][0-9A-Fa-f]{8}\b", RegexOptions.CultureInvariant)]
    private static partial Regex HexCode();

    [GeneratedRegex(@"\bE_FAIL\b", RegexOptions.CultureInvariant)]
    private static partial Regex NamedFail();
}
