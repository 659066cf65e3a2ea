using System.Diagnostics;

namespace ErrorHub.Testing.Disks;

/// <summary>
/// A file system of a few megabytes of its own (a tmpfs, which mounting needs root for; the test command runs as root),
/// so a test can fill a disk, or make it read-only, without touching the machine's. Disposing unmounts it and deletes
/// the directory, also when the test failed half way.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    /// <summary>Where the file system is mounted.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (as <c>mount</c> takes it: <c>1m</c>, <c>512k</c>) on a new directory.</summary>
    public static SmallDisk Mount(string size)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "errorhub-disk-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        var (exitCode, error) = Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
        if (exitCode != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"A small disk could not be mounted (this test needs root): {error}");
        }

        return new SmallDisk(path);
    }

    /// <summary>Fills what is left of the disk with one file (deleting it gives the room back), keeping <paramref name="leaveBytes"/> free.</summary>
    public string Fill(long leaveBytes = 0)
    {
        var filler = System.IO.Path.Combine(Path, "filler-" + Guid.NewGuid().ToString("N"));
        var free = new DriveInfo(Path).AvailableFreeSpace - leaveBytes;
        using var stream = new FileStream(filler, FileMode.CreateNew, FileAccess.Write);
        var block = new byte[64 * 1024];
        try
        {
            while (free > 0)
            {
                var count = (int)Math.Min(block.Length, free);
                stream.Write(block, 0, count);
                free -= count;
            }

            stream.Flush(flushToDisk: true);
        }
        catch (IOException)
        {
            // The disk had less room than it said: it is full, which is what was asked.
        }

        return filler;
    }

    /// <summary>Remounts the file system read-only (<c>true</c>) or writable again; Linux refuses (busy) while a file on it is open for writing.</summary>
    public void SetReadOnly(bool readOnly)
    {
        var (exitCode, error) = Run("mount", "-o", readOnly ? "remount,ro" : "remount,rw", Path);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"The small disk could not be remounted {(readOnly ? "read-only" : "writable")}: {error}");
        }
    }

    public void Dispose()
    {
        // Lazily: a process the test started may still hold a file on it; the mount goes once it lets go.
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static (int ExitCode, string Error) Run(string program, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(program) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error);
    }
}
