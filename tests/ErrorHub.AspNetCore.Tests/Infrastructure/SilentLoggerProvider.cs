using Microsoft.Extensions.Logging;

namespace ErrorHub.AspNetCore.Tests.Infrastructure;

/// <summary>Writes nothing, like a console provider nobody reads; hosting starts an Activity per request for it.</summary>
internal sealed class SilentLoggerProvider : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Silent();

    public void Dispose()
    {
    }

    private sealed class Silent : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }
}
