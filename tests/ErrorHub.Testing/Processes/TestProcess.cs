using System.Diagnostics;

namespace ErrorHub.Testing.Processes;

/// <summary>
/// One of our apps running as a child process for a test: started with its own environment and
/// arguments, its output kept (bounded) for failure messages, and the whole process tree killed on
/// dispose.
/// </summary>
public sealed class TestProcess : IAsyncDisposable
{
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private int _disposed;

    private TestProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>A short label for messages, e.g. "dashboard".</summary>
    public string Name { get; }

    /// <summary>Standard output and standard error, interleaved as they arrived, prefixed "err: " for errors.</summary>
    public OutputBuffer Output { get; } = new();

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts <c>dotnet assemblyPath args...</c>. Environment entries with a null value are removed
    /// from the inherited environment (so a developer's own settings cannot leak into a test).
    /// </summary>
    public static TestProcess StartDotnet(
        string name,
        string assemblyPath,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?> environment,
        string? workingDirectory = null) =>
        Start(name, DotnetHost(), [assemblyPath, .. arguments], environment, workingDirectory ?? Path.GetDirectoryName(assemblyPath)!);

    /// <summary>
    /// Starts an executable of its own (a NativeAOT app, which has no <c>dotnet</c> host), in its own folder unless told
    /// otherwise; environment entries with a null value are removed as for <see cref="StartDotnet"/>.
    /// </summary>
    public static TestProcess StartExecutable(
        string name,
        string executablePath,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?> environment,
        string? workingDirectory = null) =>
        Start(name, executablePath, arguments, environment, workingDirectory ?? Path.GetDirectoryName(executablePath)!);

    private static TestProcess Start(
        string name,
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?> environment,
        string workingDirectory)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(key);
            }
            else
            {
                startInfo.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var testProcess = new TestProcess(name, process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                testProcess.Output.Add(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                testProcess.Output.Add("err: " + e.Data);
            }
        };

        if (!process.Start())
        {
            throw new InvalidOperationException($"{name}: '{fileName}' did not start.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return testProcess;
    }

    /// <summary>
    /// Waits until <paramref name="url"/> answers with any HTTP status below 500. Fails early, with the
    /// process output, when the process exits; fails after <paramref name="timeout"/> otherwise.
    /// </summary>
    public async Task WaitForHttpAsync(Uri url, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var stopwatch = Stopwatch.StartNew();
        string lastProblem = "no answer yet";
        while (stopwatch.Elapsed < timeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"{Name} exited with code {_process.ExitCode} before {url} answered.\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(url, cancellationToken);
                if ((int)response.StatusCode < 500)
                {
                    return;
                }

                lastProblem = $"HTTP {(int)response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                lastProblem = e.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                lastProblem = "request timed out";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        throw new TimeoutException(
            $"{Name}: {url} did not answer within {timeout.TotalSeconds:0} s (last: {lastProblem}).\n{Output}");
    }

    /// <summary>Waits for the process to end by itself and returns its exit code; fails, with its output, after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds:0} s.\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var exitTimeout = new CancellationTokenSource(ExitWait);
            await _process.WaitForExitAsync(exitTimeout.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped: nothing left to stop.
        }
        catch (OperationCanceledException)
        {
            // Killed but not reaped within the wait; the kernel finishes it.
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>Ends each of a test's processes that is still set, one after the other (a test's disposal, after a failure too).</summary>
    public static async Task EndAllAsync(params TestProcess?[] processes)
    {
        foreach (var process in processes)
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }
    }

    public override string ToString() => $"{Name} (pid {Id})";

    /// <summary>The dotnet host running these tests (set by the SDK), else the one on PATH.</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
