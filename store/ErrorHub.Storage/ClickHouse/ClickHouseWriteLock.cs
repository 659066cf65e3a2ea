namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// One write at a time within this process, for stores whose writes read the latest row first (ClickHouse has no
/// transactions): two such writes interleaved would each build on what the other is about to replace.
/// </summary>
internal sealed class ClickHouseWriteLock : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task RunAsync(Func<Task> write)
    {
        await _gate.WaitAsync();
        try
        {
            await write();
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}
