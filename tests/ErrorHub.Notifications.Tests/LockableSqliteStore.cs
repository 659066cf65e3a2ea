using ErrorHub.Testing.Processes;
using ErrorHub.Testing.Sqlite;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// A SQLite store in a folder of its own whose write lock another process takes and lets go (<see cref="SqliteWriteLock"/>).
/// Disposing lets go and deletes the folder, once the harness on it is disposed.
/// </summary>
internal sealed class LockableSqliteStore(string folderPrefix) : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory(folderPrefix).FullName;
    private SqliteConnection? _holder;

    public string Database => Path.Combine(_directory, "errorhub.db");

    /// <summary>The harness settings that put its store here.</summary>
    public Dictionary<string, string?> Settings => new() { ["ErrorHub:Store:Sqlite:Path"] = Database };

    public bool Held => _holder is not null;

    public async Task HoldWriteLockAsync() => _holder ??= await SqliteWriteLock.HoldAsync(Database);

    public async Task ReleaseWriteLockAsync()
    {
        if (_holder is not null)
        {
            await _holder.DisposeAsync();
            _holder = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseWriteLockAsync();
        SqliteConnection.ClearAllPools();
        TestDirectory.DeleteQuietly(_directory);
    }
}
