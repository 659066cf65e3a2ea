using System.Runtime.CompilerServices;
using ErrorHub.Internal;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Tests.Capture;

/// <summary>
/// Each exception instance is reported once, whichever path sees it first, also when the app keeps far more captured
/// exceptions alive than there are slots; and remembering an exception never keeps it alive.
/// </summary>
public sealed class SeenExceptionsTests
{
    [Fact]
    public void An_exception_is_taken_once_and_known_afterwards()
    {
        var seen = new SeenExceptions();
        var exception = new InvalidOperationException("once");

        seen.Contains(exception).Should().BeFalse();
        seen.TryAdd(exception).Should().BeTrue();
        seen.TryAdd(exception).Should().BeFalse();
        seen.Contains(exception).Should().BeTrue();
        seen.Contains(new InvalidOperationException("once")).Should().BeFalse("an equal exception is another instance");
    }

    [Fact]
    public void Exceptions_the_app_keeps_alive_stay_known_beyond_the_slots()
    {
        var seen = new SeenExceptions();
        var kept = Enumerable.Range(0, SeenExceptions.Sets * SeenExceptions.Ways * 3).Select(i => new InvalidOperationException($"kept {i}")).ToList();

        kept.Should().OnlyContain(e => seen.TryAdd(e), "each is new");
        kept.Should().OnlyContain(e => seen.Contains(e));
        kept.Should().OnlyContain(e => !seen.TryAdd(e), "each was taken already");
    }

    [Fact]
    public void Exceptions_taken_on_many_threads_at_once_are_each_taken_exactly_once()
    {
        var seen = new SeenExceptions();
        var exceptions = Enumerable.Range(0, 20_000).Select(i => new InvalidOperationException($"shared {i}")).ToArray();
        var taken = new int[exceptions.Length];

        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < exceptions.Length; i++)
            {
                if (seen.TryAdd(exceptions[i]))
                {
                    Interlocked.Increment(ref taken[i]);
                }
            }
        });

        taken.Should().OnlyContain(count => count == 1);
    }

    [Fact]
    public void A_remembered_exception_is_not_kept_alive()
    {
        var seen = new SeenExceptions();
        var weak = TakeAndForget(seen);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        weak.TryGetTarget(out _).Should().BeFalse();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<Exception> TakeAndForget(SeenExceptions seen)
    {
        var exception = new InvalidOperationException("forgotten");
        seen.TryAdd(exception).Should().BeTrue();
        return new WeakReference<Exception>(exception);
    }
}
