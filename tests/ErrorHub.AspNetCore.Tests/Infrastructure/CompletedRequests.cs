using Microsoft.AspNetCore.Http;

namespace ErrorHub.AspNetCore.Tests.Infrastructure;

/// <summary>
/// Knows when the app is completely done with its requests. ErrorHub decides whether to report a request's
/// exception when the response completes, after the client already has its answer; a middleware placed first
/// registers its completion callback first, so it runs after ErrorHub's (they run last-in, first-out).
/// </summary>
internal sealed class CompletedRequests
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private readonly Lock _gate = new();
    private int _started;
    private int _completed;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Use first in the pipeline: <c>app.Use(completed.Track)</c>.</summary>
    public Task Track(HttpContext context, RequestDelegate next)
    {
        lock (_gate)
        {
            _started++;
        }

        context.Response.OnCompleted(() =>
        {
            TaskCompletionSource changed;
            lock (_gate)
            {
                _completed++;
                changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
            return Task.CompletedTask;
        });
        return next(context);
    }

    /// <summary>Returns once every request that started has completed.</summary>
    public async Task WaitForAllAsync()
    {
        using var guard = new CancellationTokenSource(Guard);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_completed >= _started)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(guard.Token);
        }
    }
}
