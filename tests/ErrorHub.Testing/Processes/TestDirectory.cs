namespace ErrorHub.Testing.Processes;

/// <summary>A test's own temporary directory.</summary>
public static class TestDirectory
{
    /// <summary>
    /// Deletes <paramref name="path"/> with what is in it, once the test's processes have ended. A file the system still
    /// holds is left to its temporary-file cleanup: a test's disposal must not fail the test over it.
    /// </summary>
    public static void DeleteQuietly(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
