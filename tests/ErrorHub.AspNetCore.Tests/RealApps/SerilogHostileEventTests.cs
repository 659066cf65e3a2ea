using System.Diagnostics;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Parsing;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// Hostile Serilog events through ErrorHub.Serilog's sink in the Serilog app of <see cref="RealAppSerilogTests"/>, against a real ingest:
/// the app that logs them never sees an exception, the failure each one carries is still reported, what it carries is bounded, and
/// neither the app's log nor Serilog's own SelfLog gets anything back from the SDK.
/// </summary>
[Collection(SerilogStaticLogger.Collection)]
public sealed class SerilogHostileEventTests
{
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Hostile_properties_templates_and_exceptions_never_reach_the_app_and_each_failure_is_reported_bounded()
    {
        var selfLog = new List<string>();
        SelfLog.Enable(line => { lock (selfLog) { selfLog.Add(line); } });
        try
        {
            await using var run = await SerilogAppRun.StartAsync(LoggingSetup.UseSerilogWriteToErrorHub);
            var logger = global::Serilog.Log.Logger;
            var parser = new MessageTemplateParser();

            // A property whose ToString throws (an enricher's scalar of the app's own type), one of 10 MB, and 100,000 more.
            var properties = new List<LogEventProperty>
            {
                new("Throwing", new ScalarValue(new ToStringThrows())),
                new("Huge", new ScalarValue(new string('h', 10_000_000))),
            };
            properties.AddRange(Enumerable.Range(0, 100_000).Select(i => new LogEventProperty($"P{i}", new ScalarValue(i))));
            logger.Write(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Error, new PropertiesFailure("properties sentinel"), parser.Parse("Order failed"), properties));

            // A template naming 100,000 properties, all given: every property is the message's own.
            var named = Enumerable.Range(0, 100_000).Select(i => $"{{N{i}}}").ToArray();
            logger.Error(new ManyNamesFailure("names sentinel"), string.Join(' ', named), Enumerable.Range(0, 100_000).Cast<object>().ToArray());

            // A destructured object that holds itself.
            var cyclic = new Node();
            cyclic.Next = cyclic;
            logger.Error(new CyclicFailure("cyclic sentinel"), "Order {@Order} failed", cyclic);

            // An exception whose every getter throws, and a message template of 1 MB.
            logger.Error(new GettersThrow(), "Getters throw");
            logger.Error(new TemplateFailure("template sentinel"), new string('t', 1_000_000) + " {Id}", 7);

            var events = await ArrivedAsync(run, nameof(PropertiesFailure), nameof(ManyNamesFailure), nameof(CyclicFailure), nameof(GettersThrow), nameof(TemplateFailure));

            var withProperties = Single(events, nameof(PropertiesFailure));
            withProperties.Tags.Should().HaveCountLessThanOrEqualTo(50, "docs/protocol.md: tags");
            withProperties.Tags.Values.Should().AllSatisfy(v => v.Length.Should().BeLessThanOrEqualTo(256));
            Single(events, nameof(ManyNamesFailure)).Tags.Keys.Should().NotContain(k => k.StartsWith('N'), "the message's own properties are not tags");
            Single(events, nameof(TemplateFailure)).Message!.Length.Should().BeLessThanOrEqualTo(8192);
            run.Log.Warnings.Should().NotContain(w => w.Contains("ErrorHub", StringComparison.Ordinal), "nothing of the SDK's comes back into the app's log");
        }
        finally
        {
            SelfLog.Disable();
        }

        // Serilog's own note on the object that holds itself is all: the sink never fails the app's logging.
        selfLog.Should().OnlyContain(line => line.EndsWith("Maximum destructuring depth reached.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fifty_threads_logging_failures_at_once_never_see_an_exception_and_their_failures_are_reported()
    {
        await using var run = await SerilogAppRun.StartAsync(LoggingSetup.UseSerilogWriteToErrorHub);
        var logger = global::Serilog.Log.Logger;
        using var start = new Barrier(50);

        var threads = Enumerable.Range(0, 50).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < 20; i++)
            {
                using (global::Serilog.Context.LogContext.PushProperty("Thread", t))
                {
                    logger.Information("Step {Step} of thread {Thread}", i, t);
                    logger.Error(new ThreadFailure($"thread {t} failure {i}"), "Thread {Thread} failed at {Step}", t, i);
                }
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        threads.ForEach(thread => thread.Join());

        var events = await ArrivedAsync(run, Enumerable.Range(0, 50).Select(t => $"thread {t} failure 19").ToArray(), byValue: true);
        events.Count(e => e.Exceptions.Any(x => x.Type.EndsWith(nameof(ThreadFailure), StringComparison.Ordinal))).Should().Be(1000);
    }

    private static Task<List<ErrorEvent>> ArrivedAsync(SerilogAppRun run, params string[] types) => ArrivedAsync(run, types, byValue: false);

    private static async Task<List<ErrorEvent>> ArrivedAsync(SerilogAppRun run, string[] sentinels, bool byValue)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var events = await run.Ingest.AllEventsAsync();
            if (sentinels.All(s => events.Any(e => e.Exceptions.Any(x => byValue ? x.Value.Contains(s, StringComparison.Ordinal) : x.Type.EndsWith(s, StringComparison.Ordinal)))))
            {
                return events;
            }

            if (stopwatch.Elapsed > ArrivalTimeout)
            {
                throw new TimeoutException($"Not all of {string.Join(", ", sentinels.Take(5))} within {ArrivalTimeout.TotalSeconds:0} s; stored: {string.Join(" | ", events.Select(e => e.Title).Take(20))}");
            }

            await Task.Delay(100);
        }
    }

    private static ErrorEvent Single(List<ErrorEvent> events, string type) =>
        events.Single(e => e.Exceptions.Any(x => x.Type.EndsWith(type, StringComparison.Ordinal)));

    private sealed class ToStringThrows
    {
        public override string ToString() => throw new InvalidOperationException("ToString refuses");
    }

    private sealed class Node
    {
        public Node? Next { get; set; }

        public string Name { get; } = "cyclic";
    }

    private sealed class PropertiesFailure(string message) : Exception(message);

    private sealed class ManyNamesFailure(string message) : Exception(message);

    private sealed class CyclicFailure(string message) : Exception(message);

    private sealed class TemplateFailure(string message) : Exception(message);

    private sealed class ThreadFailure(string message) : Exception(message);

    private sealed class GettersThrow : Exception
    {
        public override string Message => throw new InvalidOperationException("Message refuses");

        public override string? StackTrace => throw new InvalidOperationException("StackTrace refuses");

        public override System.Collections.IDictionary Data => throw new InvalidOperationException("Data refuses");

        public override string? Source
        {
            get => throw new InvalidOperationException("Source refuses");
            set => throw new InvalidOperationException("Source refuses");
        }

        public override string ToString() => throw new InvalidOperationException("ToString refuses");
    }
}
