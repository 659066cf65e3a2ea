using System.Runtime.CompilerServices;

namespace ErrorHub.Internal;

/// <summary>
/// The exceptions already reported, so that each instance is reported once whichever path sees it first, without
/// keeping them alive or touching <see cref="Exception.Data"/>. A <see cref="ConditionalWeakTable{TKey,TValue}"/> of
/// every captured exception did this before, but each entry is a dependent handle that every garbage collection scans
/// until the table is compacted: in a storm it cost about as much as the rest of a capture (docs/benchmarks.md,
/// section "storm"). Here an exception is remembered by a weak reference in a small set of slots chosen by its identity
/// hash (a long one, which outlives the finalizers that may report the exception again); the slots are made once and
/// reused, so their number is fixed. An exception pushed out of its set while it is
/// still alive (the set's slots all hold living exceptions, which a storm's short-lived exceptions seldom do) moves to a
/// <see cref="ConditionalWeakTable{TKey,TValue}"/>: it stays remembered for as long as it lives, as before.
/// </summary>
internal sealed class SeenExceptions
{
    internal const int Sets = 1024;
    internal const int Ways = 4;
    private const int LockStripes = 64;

    private static readonly object Marker = new();

    private readonly WeakReference<Exception>?[] _slots = new WeakReference<Exception>?[Sets * Ways];
    private readonly byte[] _nextVictim = new byte[Sets];
    private readonly object[] _locks = CreateLocks();
    private readonly ConditionalWeakTable<Exception, object> _pushedOut = [];
    private int _anyPushedOut;

    /// <summary>True the first time <paramref name="exception"/> is offered; false for every later offer of the same instance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryAdd(Exception exception)
    {
        var set = SetOf(exception);
        var first = set * Ways;
        lock (_locks[set % LockStripes])
        {
            var free = -1;
            for (var i = first; i < first + Ways; i++)
            {
                if (_slots[i] is not { } slot || !slot.TryGetTarget(out var held))
                {
                    free = free < 0 ? i : free;
                }
                else if (ReferenceEquals(held, exception))
                {
                    return false;
                }
            }

            if (Volatile.Read(ref _anyPushedOut) == 1 && _pushedOut.TryGetValue(exception, out _))
            {
                return false;
            }

            if (free < 0)
            {
                free = first + (_nextVictim[set]++ % Ways);
                if (_slots[free]!.TryGetTarget(out var victim))
                {
                    _pushedOut.AddOrUpdate(victim, Marker);
                    Volatile.Write(ref _anyPushedOut, 1);
                }
            }

            if (_slots[free] is { } reused)
            {
                reused.SetTarget(exception);
            }
            else
            {
                // Tracking resurrection: an exception reachable only from a finalizer (the faulted task nobody awaited,
                // which the runtime raises as unobserved from its finalizer) is still remembered there. A short weak
                // reference is cleared before finalizers run: Blazor's failed static page was reported by the
                // middleware and then, at the next collection, again as an unobserved task exception.
                Volatile.Write(ref _slots[free], new WeakReference<Exception>(exception, trackResurrection: true));
            }

            return true;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Contains(Exception exception)
    {
        var first = SetOf(exception) * Ways;
        for (var i = first; i < first + Ways; i++)
        {
            if (Volatile.Read(ref _slots[i]) is { } slot && slot.TryGetTarget(out var held) && ReferenceEquals(held, exception))
            {
                return true;
            }
        }

        return Volatile.Read(ref _anyPushedOut) == 1 && _pushedOut.TryGetValue(exception, out _);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SetOf(Exception exception) => (RuntimeHelpers.GetHashCode(exception) & int.MaxValue) % Sets;

    private static object[] CreateLocks()
    {
        var locks = new object[LockStripes];
        for (var i = 0; i < locks.Length; i++)
        {
            locks[i] = new object();
        }

        return locks;
    }
}
