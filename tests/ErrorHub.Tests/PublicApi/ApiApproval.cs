using System.Runtime.CompilerServices;
using System.Text;
using Xunit.Sdk;

namespace ErrorHub.Tests.PublicApi;

/// <summary>
/// Holds generated text to a committed <c>*.verified.txt</c> beside the test. On a difference the test fails
/// with a line diff and writes <c>*.received.txt</c> next to the verified file. To accept a deliberate change,
/// copy received over verified, or run the tests once with <c>ERRORHUB_ACCEPT_API=1</c>, which rewrites the
/// verified files; either way the diff of the verified file is what the commit and its review are about.
/// </summary>
internal static class ApiApproval
{
    internal const string AcceptVariable = "ERRORHUB_ACCEPT_API";

    /// <summary>Lines of unchanged text shown around each change, enough to see which type a member is in.</summary>
    private const int ContextLines = 3;

    public static void Verify(string actual, string name, [CallerFilePath] string testFile = "")
    {
        var directory = Path.GetDirectoryName(testFile)!;
        var verifiedPath = Path.Combine(directory, $"{name}.verified.txt");
        var receivedPath = Path.Combine(directory, $"{name}.received.txt");

        // Generated text follows the platform's line endings; the committed file is always \n.
        actual = actual.ReplaceLineEndings("\n").TrimEnd('\n') + "\n";
        var verified = File.Exists(verifiedPath) ? File.ReadAllText(verifiedPath).ReplaceLineEndings("\n") : null;
        if (verified == actual)
        {
            File.Delete(receivedPath);
            return;
        }

        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            File.WriteAllText(verifiedPath, actual);
            File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, actual);
        throw new XunitException(
            $"The public API of {name} changed. If the change is deliberate, accept it: copy {Path.GetFileName(receivedPath)} " +
            $"over {Path.GetFileName(verifiedPath)} (or run the tests with {AcceptVariable}=1) and say why in the commit.\n" +
            (verified is null ? $"There is no {Path.GetFileName(verifiedPath)} yet.\n" : $"--- verified\n+++ received\n{Diff(verified, actual)}"));
    }

    /// <summary>A unified-style line diff (longest common subsequence): '-' only in verified, '+' only in received.</summary>
    internal static string Diff(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');

        // common[i, j] = length of the longest common subsequence of a[i..] and b[j..]
        var common = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                common[i, j] = a[i] == b[j] ? common[i + 1, j + 1] + 1 : Math.Max(common[i + 1, j], common[i, j + 1]);
            }
        }

        var lines = new List<(char Mark, string Text)>();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                lines.Add((' ', a[x++]));
                y++;
            }
            else if (x < a.Length && (y == b.Length || common[x + 1, y] >= common[x, y + 1]))
            {
                lines.Add(('-', a[x++]));
            }
            else
            {
                lines.Add(('+', b[y++]));
            }
        }

        var text = new StringBuilder();
        var lastShown = -1;
        for (var k = 0; k < lines.Count; k++)
        {
            var near = false;
            for (var d = Math.Max(0, k - ContextLines); d <= Math.Min(lines.Count - 1, k + ContextLines) && !near; d++)
            {
                near = lines[d].Mark != ' ';
            }

            if (!near)
            {
                continue;
            }

            if (lastShown >= 0 && k > lastShown + 1)
            {
                text.Append("@@\n");
            }

            text.Append(lines[k].Mark).Append(lines[k].Text).Append('\n');
            lastShown = k;
        }

        return text.ToString();
    }
}
