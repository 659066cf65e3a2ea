using ErrorHub.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Tests.Infrastructure;

/// <summary>
/// The SDK as an app gets it from <c>AddErrorHub()</c>, on the test's clock. Disposing it never hangs, even when a
/// failing test left events waiting on the clock (see <see cref="TestClock.DisposeAdvancingAsync"/>).
/// </summary>
internal sealed class SdkUnderTest : IAsyncDisposable
{
    private readonly TestClock _clock;

    private SdkUnderTest(TestClock clock, ServiceProvider services)
    {
        _clock = clock;
        Services = services;
        Client = services.GetRequiredService<ErrorHubClient>();
    }

    /// <summary>The app's container; tests about disposal dispose it themselves.</summary>
    public ServiceProvider Services { get; }

    public ErrorHubClient Client { get; }

    public static SdkUnderTest Start(TestClock clock, Action<ErrorHubOptions> configure) => Start(clock, configure, logs: null);

    public static SdkUnderTest Start(TestClock clock, Action<ErrorHubOptions> configure, ILoggerProvider? logs, LogLevel minimumLevel = LogLevel.Information, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        services?.Invoke(collection);
        var built = collection
            .AddLogging(logging =>
            {
                logging.SetMinimumLevel(minimumLevel);
                if (logs is not null)
                {
                    logging.AddProvider(logs);
                }
            })
            .AddSingleton<TimeProvider>(clock)
            .AddErrorHub(configure);
        return new SdkUnderTest(clock, built.BuildServiceProvider());
    }

    public ValueTask DisposeAsync() => new(_clock.DisposeAdvancingAsync(Services.DisposeAsync));

    public static Exception Thrown(Exception exception)
    {
        try
        {
            throw exception;
        }
        catch (Exception caught)
        {
            return caught;
        }
    }
}
