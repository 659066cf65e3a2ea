using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ErrorHub.Transport;

/// <summary>
/// Opens an entry of the spool directory for reading without ever waiting on it. The spool checks an entry before it
/// opens it, but the entry can be swapped between the check and the open (a regular file replaced by a FIFO, say), and
/// opening a FIFO for reading waits until something writes to it: the sender's loop would stop for good. On Linux and
/// macOS the file is therefore opened with O_NONBLOCK (an open that never waits; it changes nothing for a regular
/// file), and what it opened is kept only when it is seekable and readable: a FIFO, a socket or a directory is not.
/// Elsewhere (Windows has no FIFOs in a directory) the runtime opens it.
/// </summary>
internal static class SpoolFileOpener
{
    /// <summary>
    /// The entry at <paramref name="path"/> opened for reading, exclusively locked against other senders when
    /// <paramref name="exclusive"/>; null when it is gone, another sender holds it, the disk refuses it, or it is no
    /// regular file or one this process may not read (then <paramref name="unreadable"/> says why, when the spool should
    /// give up on it).
    /// </summary>
    public static FileStream? TryOpen(string path, bool exclusive, out string? unreadable)
    {
        unreadable = null;
        if (!NonBlockingOpenFlags.TryGet(out var flags))
        {
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, exclusive ? FileShare.None : FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        SafeFileHandle handle;
        try
        {
            var descriptor = NativeMethods.Open(NullTerminatedUtf8(path), flags);
            if (descriptor < 0)
            {
                // Permission denied stays denied (a batch another user's process wrote, a file made read-only for its
                // owner alone): said, so the spool gives up on it rather than meeting it again every round. Any other
                // failure (gone meanwhile, too many open files) may pass: passed over silently, as before.
                if (Marshal.GetLastPInvokeError() == PermissionDenied)
                {
                    unreadable = "this process may not read it (permission denied)";
                }

                return null;
            }

            handle = new SafeFileHandle(descriptor, ownsHandle: true);
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            NonBlockingOpenFlags.Disable();
            return TryOpen(path, exclusive, out unreadable);
        }

        FileStream? stream = null;
        try
        {
            if (exclusive && NativeMethods.Flock((int)handle.DangerousGetHandle(), LockExclusive | LockNonBlocking) != 0)
            {
                handle.Dispose();
                return null;
            }

            stream = new FileStream(handle, FileAccess.Read);
            if (!stream.CanSeek)
            {
                unreadable = "a FIFO, socket or device rather than a file";
                stream.Dispose();
                return null;
            }

            // A directory opens like a file but refuses every read: it is left alone, as one met by its name is.
            Span<byte> first = stackalloc byte[1];
            RandomAccess.Read(handle, first, 0);
            return stream;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            if (stream is null)
            {
                handle.Dispose();
            }
            else
            {
                stream.Dispose();
            }

            return null;
        }
    }

    /// <summary>EACCES, the same number on Linux and macOS.</summary>
    private const int PermissionDenied = 13;

    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;

    private static byte[] NullTerminatedUtf8(string path)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(path) + 1];
        System.Text.Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    /// <summary>O_RDONLY | O_NONBLOCK | O_CLOEXEC where their values are known; the runtime's open elsewhere.</summary>
    private static class NonBlockingOpenFlags
    {
        private static volatile bool s_disabled;

        public static bool TryGet(out int flags)
        {
            flags = 0;
            if (s_disabled)
            {
                return false;
            }

            if (OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 or Architecture.Arm64 or Architecture.Arm)
            {
                flags = 0x800 | 0x80000;
                return true;
            }

            if (OperatingSystem.IsMacOS())
            {
                flags = 0x4 | 0x1000000;
                return true;
            }

            return false;
        }

        public static void Disable() => s_disabled = true;
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open(byte[] path, int flags);

        [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Flock(int descriptor, int operation);
    }
}
