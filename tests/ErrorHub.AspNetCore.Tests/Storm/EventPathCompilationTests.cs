using System.Reflection;
using ErrorHub.Internal;
using ErrorHub.Transport;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Storm;

/// <summary>
/// In an exception storm every reported exception runs through the same methods thousands of times a second, from the
/// first exception on, on the cores the app's requests need. Left to the JIT's tiers they ran unoptimized (and
/// instrumented) for a storm's first tens of seconds on a busy core and were recompiled meanwhile: the storm's CPU per
/// exception above the app's own handling was about twice what it is once the code is optimized (docs/benchmarks.md,
/// section "storm3"). Each of them is compiled optimized at its first call; this fails when one of them loses that
/// (or is renamed, or a new overload on the path comes without it).
/// </summary>
public sealed class EventPathCompilationTests
{
    private static readonly Type Middleware = typeof(ErrorHubMiddleware);
    private static readonly Type RequestContext = typeof(HttpRequestContext);
    private static readonly Type Capture = typeof(RequestCapture);

    public static TheoryData<Type, string> EventPath => new()
    {
        // The request thread: the capture in the middleware's exception filter, and the logger that sees it again.
        { Middleware, "Report" },
        { Middleware, "IsClientAbort" },
        { typeof(ErrorHubClient), "Capture" },
        { typeof(ErrorHubClient), "TryMarkCaptured" },
        { typeof(ErrorHubClient), "WasCaptured" },
        { typeof(ErrorHubClient), "NewEvent" },
        { typeof(ErrorHubClient), "Dispatch" },
        { typeof(ErrorHubClient), "Send" },
        { typeof(ErrorHubClient), "CurrentScope" },
        { typeof(SeenExceptions), "TryAdd" },
        { typeof(SeenExceptions), "Contains" },
        { typeof(EventIds), "NewId" },
        { typeof(SourceLocations), "Capture" },
        { typeof(ExceptionConverter), "AddExceptions" },
        { typeof(LogScopes), "AddTagsTo" },
        { typeof(ErrorHubScope), "ApplyTo" },
        { RequestContext, "TryTake" },
        { RequestContext, "TryHoldRefused" },
        { RequestContext, "CurrentRequestScope" },
        { Capture, "Enrich" },
        { Capture, "CaptureUser" },
        { Capture, "ReadForm" },
        { Capture, "ScrubQuery" },

        // The encoding, when the response completes, and the sender's batching.
        { typeof(BackgroundSender), "TryEnqueue" },
        { typeof(BackgroundSender), "TakeQueued" },
        { typeof(BackgroundSender), "Compress" },
        { typeof(EncodedEvent), "Encode" },
        { typeof(ExceptionConverter), "Write" },
        { typeof(ExceptionConverter), "EncodedTrace" },
        { typeof(TraceKey), "TryFill" },
        { typeof(CapturedChain), "Write" },
        { typeof(BatchBuffer), "Add" },
    };

    [Theory]
    [MemberData(nameof(EventPath))]
    public void A_method_every_reported_exception_runs_is_compiled_optimized_at_its_first_call(Type type, string name)
    {
        var methods = type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(m => m.Name == name)
            .ToList();

        methods.Should().NotBeEmpty($"{type.Name}.{name} is on the event path");
        methods.Should().OnlyContain(
            m => (m.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0,
            $"every overload of {type.Name}.{name} runs for each reported exception of a storm");
    }

    [Fact]
    public void The_request_state_completing_a_failed_request_is_compiled_optimized()
    {
        var state = RequestContext.GetNestedType("RequestState", BindingFlags.NonPublic)!;

        foreach (var name in new[] { "For", "Hold", "CompleteAsync" })
        {
            var method = state.GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static)!;
            (method.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization).Should().NotBe(0, name);
        }
    }
}
