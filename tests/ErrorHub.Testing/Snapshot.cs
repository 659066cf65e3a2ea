using System.Runtime.CompilerServices;
using Xunit.Sdk;

namespace ErrorHub.Testing;

/// <summary>
/// Compares text with a committed <c>*.verified.txt</c> file beside the test. On a difference it writes
/// <c>*.received.txt</c> and fails: review the change, and if it is deliberate, copy received over verified.
/// </summary>
public static class Snapshot
{
    public static void Verify(string actual, string name, [CallerFilePath] string testFile = "")
    {
        var directory = Path.GetDirectoryName(testFile)!;
        var verifiedPath = Path.Combine(directory, $"{name}.verified.txt");
        var receivedPath = Path.Combine(directory, $"{name}.received.txt");
        actual = actual.ReplaceLineEndings("\n");
        var verified = File.Exists(verifiedPath) ? File.ReadAllText(verifiedPath).ReplaceLineEndings("\n") : null;
        if (verified == actual)
        {
            File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, actual);
        var firstDifference = verified is null ? "no verified file yet" : FirstDifference(verified, actual);
        throw new XunitException(
            $"{name} changed ({firstDifference}). This is a public contract: if the change is deliberate, " +
            $"replace {Path.GetFileName(verifiedPath)} with {Path.GetFileName(receivedPath)} and say so in the commit.");
    }

    private static string FirstDifference(string expected, string actual)
    {
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        for (var i = 0; i < Math.Max(expectedLines.Length, actualLines.Length); i++)
        {
            var e = i < expectedLines.Length ? expectedLines[i] : "<end>";
            var a = i < actualLines.Length ? actualLines[i] : "<end>";
            if (e != a)
            {
                return $"line {i + 1}: expected \"{e}\" but got \"{a}\"";
            }
        }

        return "whitespace only";
    }
}
