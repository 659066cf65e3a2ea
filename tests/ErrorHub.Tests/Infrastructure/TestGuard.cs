namespace ErrorHub.Tests.Infrastructure;

/// <summary>
/// How long a test waits, in real time, for something that happens within milliseconds when the code is right
/// (a request over loopback, the background loop reaching a wait). Only a failing test ever waits this out; it turns
/// a hang into a failure with a message.
/// </summary>
internal static class TestGuard
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Timeout);

    public static Task Within(this Task task) => task.WaitAsync(Timeout);

    /// <summary>Polls <paramref name="condition"/> in real time; fails naming <paramref name="what"/> after <see cref="Timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"The SDK should have got to {what} by now.");
            }

            await Task.Delay(1, CancellationToken.None);
        }
    }
}
