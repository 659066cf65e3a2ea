using System.Globalization;

namespace ErrorHub.Storage;

/// <summary>
/// Orders releases the way people read them: "shop@2.10.0" after "shop@2.9.1", "2.4.1" after
/// "2.4.1-beta.2". The part after the last '@' is the version; dotted numbers compare as numbers, a
/// pre-release sorts before its release, build metadata ("+sha") is ignored. Releases that are not
/// versions compare as text (ordinal), so a comparison always has an answer. Only two versions of one app (the package
/// before the '@': "shop@2.4.1" and "shop@2.10.0", or two releases without one) are ordered by version in triage
/// (<see cref="AreComparable"/>); releases of different apps are ordered by when the project first saw them.
/// </summary>
public static class ReleaseVersion
{
    /// <summary>Whether both are versions of the same app (the same package before the last '@'), so their versions say which is later.</summary>
    public static bool AreComparable(string left, string right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return Package(left).SequenceEqual(Package(right)) && TryParse(left, out _) && TryParse(right, out _);
    }

    private static ReadOnlySpan<char> Package(string release) => release.AsSpan(0, Math.Max(release.LastIndexOf('@'), 0));

    public static int Compare(string left, string right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        if (TryParse(left, out var a) && TryParse(right, out var b))
        {
            var length = Math.Max(a.Numbers.Length, b.Numbers.Length);
            for (var i = 0; i < length; i++)
            {
                var byNumber = (i < a.Numbers.Length ? a.Numbers[i] : 0).CompareTo(i < b.Numbers.Length ? b.Numbers[i] : 0);
                if (byNumber != 0)
                {
                    return byNumber;
                }
            }

            return (a.PreRelease, b.PreRelease) switch
            {
                (null, null) => 0,
                (null, _) => 1,
                (_, null) => -1,
                var (x, y) => string.CompareOrdinal(x, y),
            };
        }

        return string.CompareOrdinal(left, right);
    }

    private static bool TryParse(string release, out (long[] Numbers, string? PreRelease) version)
    {
        version = default;
        var text = release[(release.LastIndexOf('@') + 1)..];
        var plus = text.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0)
        {
            text = text[..plus];
        }

        string? preRelease = null;
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash >= 0)
        {
            preRelease = text[(dash + 1)..];
            text = text[..dash];
        }

        var parts = text.TrimStart('v', 'V').Split('.');
        if (parts.Length is 0 or > 8)
        {
            return false;
        }

        var numbers = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return false;
            }
        }

        version = (numbers, preRelease);
        return true;
    }
}
