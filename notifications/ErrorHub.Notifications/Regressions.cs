namespace ErrorHub.Notifications;

/// <summary>
/// Which events reopen an issue resolved in a release: those of that release or a later one. Releases are
/// compared as versions where both read as one (<c>shop@2.10.0</c> after <c>shop@2.9.1</c>; the part after
/// the last '@' counts, a pre-release suffix sorts before its release); otherwise an event with any release
/// counts, since its order cannot be told and a missed regression is worse than a mail too many.
/// </summary>
internal static class Regressions
{
    public static bool Qualifies(string eventRelease, string? resolvedInRelease)
    {
        if (string.IsNullOrEmpty(resolvedInRelease))
        {
            return true; // resolved at a time: any newer event counts
        }

        if (eventRelease.Length == 0)
        {
            return false; // resolved in a release, and this event says none: it cannot be told to be that release or later
        }

        if (string.Equals(eventRelease, resolvedInRelease, StringComparison.Ordinal))
        {
            return true;
        }

        return Compare(eventRelease, resolvedInRelease) is not < 0;
    }

    /// <summary>Negative, zero or positive as versions; null when either is not a version.</summary>
    internal static int? Compare(string left, string right)
    {
        var (leftPackage, leftVersion) = Split(left);
        var (rightPackage, rightVersion) = Split(right);
        if (!string.Equals(leftPackage, rightPackage, StringComparison.Ordinal)
            || Parse(leftVersion) is not var (leftNumbers, leftPre)
            || Parse(rightVersion) is not var (rightNumbers, rightPre))
        {
            return null;
        }

        for (var i = 0; i < Math.Max(leftNumbers.Count, rightNumbers.Count); i++)
        {
            var compared = (i < leftNumbers.Count ? leftNumbers[i] : 0).CompareTo(i < rightNumbers.Count ? rightNumbers[i] : 0);
            if (compared != 0)
            {
                return compared;
            }
        }

        // 2.0.0-beta comes before 2.0.0.
        return (leftPre, rightPre) switch
        {
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            _ => string.CompareOrdinal(leftPre, rightPre),
        };
    }

    private static (string Package, string Version) Split(string release)
    {
        var at = release.LastIndexOf('@');
        return at < 0 ? ("", release) : (release[..at], release[(at + 1)..]);
    }

    private static (List<long> Numbers, string? PreRelease)? Parse(string version)
    {
        var text = version.StartsWith('v') || version.StartsWith('V') ? version[1..] : version;
        var plus = text.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0)
        {
            text = text[..plus];
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var pre = dash >= 0 ? text[(dash + 1)..] : null;
        var core = dash >= 0 ? text[..dash] : text;
        var numbers = new List<long>();
        foreach (var part in core.Split('.'))
        {
            if (part.Length is 0 or > 18 || !part.All(char.IsAsciiDigit))
            {
                return null;
            }

            numbers.Add(long.Parse(part, System.Globalization.CultureInfo.InvariantCulture));
        }

        return (numbers, pre);
    }
}
