using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// One run of <c>wrk</c> (Debian package <c>wrk</c>; benchmarks only, never the test suite) pinned to a CPU, for a fixed
/// time against a loopback URL, and what it printed: requests, rate, latency quartiles, errors.
/// </summary>
internal static partial class Wrk
{
    public static async Task<WrkResult> RunAsync(string url, int seconds, int connections = 16, int cpu = 0)
    {
        if (!url.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))
        {
            throw new ArgumentException("load goes to 127.0.0.1 only", nameof(url));
        }

        using var process = Process.Start(new ProcessStartInfo(
            "taskset", ["-c", cpu.ToString(CultureInfo.InvariantCulture), "wrk", "-t1", $"-c{connections}", $"-d{seconds}s", "--latency", url])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("wrk did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 30)))
        {
            try
            {
                await process.WaitForExitAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                throw new InvalidOperationException($"wrk ran past {seconds + 30} s");
            }
        }

        var text = await output;
        var requests = Requests().Match(text);
        var rate = Rate().Match(text);
        if (!requests.Success || !rate.Success)
        {
            throw new InvalidOperationException("wrk gave no result (is the Debian package wrk installed?): " + text + await errors);
        }

        var socketErrors = SocketErrors().Match(text);
        return new WrkResult(
            long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture),
            double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture),
            Percentile(text, "50%"),
            Percentile(text, "99%"),
            socketErrors.Success ? socketErrors.Groups[1].Value : "");
    }

    /// <summary>A latency of the distribution <c>--latency</c> prints, in microseconds (NaN if absent).</summary>
    private static double Percentile(string text, string which)
    {
        var match = Regex.Match(text, @"^\s+" + Regex.Escape(which) + @"\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            return double.NaN;
        }

        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "us" => value,
            "ms" => value * 1e3,
            _ => value * 1e6,
        };
    }

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex Requests();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex Rate();

    [GeneratedRegex(@"Socket errors: (.*)")]
    private static partial Regex SocketErrors();
}

/// <summary>What one wrk run counted: latencies in microseconds; <see cref="SocketErrors"/> empty when it had none.</summary>
internal sealed record WrkResult(long Requests, double RequestsPerSecond, double P50Microseconds, double P99Microseconds, string SocketErrors);
