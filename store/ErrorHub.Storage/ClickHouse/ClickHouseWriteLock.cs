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
        // A page's write (PageTimeout set) waits no longer for the write before it than for ClickHouse itself: that one may
        // be a background write to a hung node, held up to the whole RequestTimeout.
        if (ClickHouseAnswerHandler.AnswerWithin.Value is { } bound)
        {
            if (!await _gate.WaitAsync(bound))
            {
                throw new ClickHouseException(
                    $"Another write to the store did not end within {bound} (ErrorHub:Store:ClickHouse:PageTimeout); is the ClickHouse node hung?",
                    errorCode: null,
                    statusCode: null);
            }
        }
        else
        {
            await _gate.WaitAsync();
        }

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
