using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.AspNetCore;

/// <summary>
/// Which request a capture anywhere inside it (a logger, the app's own catch block) belongs to, without allocating per
/// request. An <c>IHttpContextAccessor</c> would cost every request an <c>AsyncLocal</c> write (96 B), but ASP.NET Core's
/// hosting already flows an <see cref="Activity"/> per request whenever any logging provider or tracing listener wants one
/// (every app with the template's logging). So <c>UseErrorHub()</c> claims a slot of a fixed, preallocated table mapping
/// that request's own Activity (hosting's, from <see cref="IHttpActivityFeature"/>, unique to the request) to its
/// <see cref="HttpContext"/>, and frees it when the rest of the pipeline is done; a capture walks up from
/// <see cref="Activity.Current"/> to a claimed Activity. Each slot is a sequence lock (odd while written), so a reader
/// never pairs one request's Activity with another's context: it may find nothing, never a wrong request.
/// <para>
/// When there is no Activity (an app without logging or tracing) or no slot is free (more requests in flight than the
/// table holds), the request is kept in an <see cref="AsyncLocal{T}"/> as the accessor would (the same 96 B, only then).
/// An app that registered its own <c>IHttpContextAccessor</c> pays for it already: that accessor is used, and nothing
/// is claimed.
/// </para>
/// </summary>
internal sealed class CurrentRequests : IDisposable
{
    internal const int DefaultCapacity = 1024;

    /// <summary>Slots tried from an Activity's hash, by claims and look-ups alike.</summary>
    private const int Probes = 16;

    /// <summary>How far up from the current Activity a look-up goes (spans the app starts inside a request).</summary>
    private const int MaxDepth = 32;

    /// <summary>How long freeing a slot waits for a writer that holds it (a claim of another request in progress).</summary>
    private const int ReleaseSpins = 64;

    private readonly Slot[] _slots;
    private readonly int _mask;
    private readonly IHttpContextAccessor? _appAccessor;
    private readonly AsyncLocal<Holder?> _flowing = new();
    private Action<HttpContext, Exception>? _escaped;

    [ThreadStatic]
    private static bool t_inFirstChance;

    public CurrentRequests(IServiceProvider services)
        : this(services.GetService<IHttpContextAccessor>(), DefaultCapacity)
    {
    }

    internal CurrentRequests(IHttpContextAccessor? appAccessor, int capacity)
    {
        _appAccessor = appAccessor;
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, capacity));
        _slots = new Slot[size];
        _mask = size - 1;
    }

    /// <summary>The current request, or null outside requests (and after the request's <c>UseErrorHub()</c> is done).</summary>
    public HttpContext? Current
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // only a report asks (see HttpRequestContext.CapturePathTypes)
        get
        {
            if (_appAccessor is { } accessor)
            {
                return accessor.HttpContext;
            }

            var depth = 0;
            for (var activity = Activity.Current; activity is not null && depth < MaxDepth; activity = activity.Parent, depth++)
            {
                if (Find(activity) is { } context)
                {
                    return context;
                }
            }

            return _flowing.Value?.Context;
        }
    }

    /// <summary>Makes <paramref name="context"/> the current request of the flow that runs it until <see cref="Exit"/>.</summary>
    public Claim Enter(HttpContext context)
    {
        if (_appAccessor is not null)
        {
            return default;
        }

        // Hosting makes its Activity current before the pipeline runs: with none current (an app that neither logs nor
        // traces) the feature, a dictionary look-up in some servers' feature collections, is not worth reading.
        if (Activity.Current is not null
            && context.Features.Get<IHttpActivityFeature>()?.Activity is { IsStopped: false } activity)
        {
            var start = Hash(activity);
            for (var probe = 0; probe < Probes; probe++)
            {
                var index = (start + probe) & _mask;
                ref var slot = ref _slots[index];
                var version = Volatile.Read(ref slot.Version);
                if ((version & 1) != 0)
                {
                    continue; // being written
                }

                if (Volatile.Read(ref slot.Activity) is { IsStopped: false } live)
                {
                    if (ReferenceEquals(live, activity) && ReferenceEquals(Volatile.Read(ref slot.Context), context)
                        && Volatile.Read(ref slot.Version) == version)
                    {
                        // The same request again (UseErrorHub() inside a re-executed pipeline, or a request whose
                        // asynchronous part keeps its slot until hosting stops its Activity): already findable.
                        return new Claim(index, activity, holder: null, owned: false);
                    }

                    continue; // another live request's
                }

                // Nobody changed the slot since it was read free: it is ours to write.
                if (Interlocked.CompareExchange(ref slot.Version, version + 1, version) == version)
                {
                    Volatile.Write(ref slot.Activity, activity);
                    Volatile.Write(ref slot.Context, context);
                    Volatile.Write(ref slot.Pending, null);
                    Volatile.Write(ref slot.Version, version + 2);
                    return new Claim(index, activity, holder: null, owned: true);
                }
            }
        }

        // No Activity to key it by, or the table is full around it: what an accessor would do, at what it costs.
        var holder = new Holder(context);
        _flowing.Value = holder;
        return new Claim(-1, activity: null, holder, owned: true);
    }

    /// <summary>
    /// The rest of the pipeline of a request keyed by its Activity goes on asynchronously, and the middleware returns its
    /// task as it is instead of awaiting it (which would cost every such request a state machine). The request stays
    /// findable until hosting stops its Activity (which frees the slot for the next claim), and an exception that ends
    /// <paramref name="pending"/> is seen when whoever awaits the task (the server, an outer middleware) rethrows it:
    /// the first-chance notification of that rethrow, in the request's own flow, hands it to <paramref name="escaped"/>
    /// before any outer catch block runs (see <see cref="OnFirstChance"/>).
    /// </summary>
    public void Watch(in Claim claim, Task pending, Action<HttpContext, Exception> escaped)
    {
        if (_escaped is null && Interlocked.CompareExchange(ref _escaped, escaped, null) is null)
        {
            AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
        }

        Volatile.Write(ref _slots[claim.Index].Pending, pending);
    }

    public void Dispose()
    {
        if (_escaped is not null)
        {
            AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;
        }
    }

    private void OnFirstChance(object? sender, FirstChanceExceptionEventArgs e)
    {
        // Every exception thrown in the process comes here: leave at once outside requests, and never recurse.
        if (t_inFirstChance || Activity.Current is null)
        {
            return;
        }

        t_inFirstChance = true;
        try
        {
            if (TakeEscaped(e.Exception) is { } context)
            {
                _escaped?.Invoke(context, e.Exception);
            }
        }
        catch (Exception)
        {
            // Nothing may reach the code that threw: the report path logs its own failures.
        }
        finally
        {
            t_inFirstChance = false;
        }
    }

    /// <summary>
    /// The request of the current flow if <paramref name="exception"/> is the one that ended the rest of its pipeline
    /// (the one being rethrown by whoever awaits it), once per request.
    /// </summary>
    private HttpContext? TakeEscaped(Exception exception)
    {
        var depth = 0;
        for (var activity = Activity.Current; activity is not null && depth < MaxDepth; activity = activity.Parent, depth++)
        {
            var index = FindSlot(activity, out var context, out var pending);
            if (index < 0)
            {
                continue;
            }

            if (pending is null || !EndedWith(pending, exception))
            {
                return null; // the request's pipeline is still running, or ended otherwise
            }

            return ReferenceEquals(Interlocked.CompareExchange(ref _slots[index].Pending, null, pending), pending) ? context : null;
        }

        return null;
    }

    private static bool EndedWith(Task pending, Exception exception) =>
        pending.IsFaulted
            ? ReferenceEquals(pending.Exception?.InnerException, exception)
            : pending.IsCanceled && exception is OperationCanceledException;

    /// <summary>The request's <c>UseErrorHub()</c> is done: flows that outlive it see no request from here on.</summary>
    public void Exit(in Claim claim)
    {
        if (!claim.Owned)
        {
            return; // an earlier claim of the same request keeps it
        }

        if (claim.Holder is { } holder)
        {
            holder.Context = null;
            return;
        }

        if (claim.Activity is not { } activity)
        {
            return;
        }

        ref var slot = ref _slots[claim.Index];
        if (!activity.IsStopped && ReferenceEquals(Volatile.Read(ref slot.Activity), activity))
        {
            // While the request's Activity runs, no claim takes its slot (claims take free or stopped ones), so the owner
            // frees it without a compare-and-swap. Only nulls are written, the Activity last: a reader may miss the
            // request while it leaves, never pair it with another's (and should the Activity be stopped right now by
            // someone else and the slot claimed at once, that request could only go unfound, never be mistaken).
            Volatile.Write(ref slot.Pending, null);
            Volatile.Write(ref slot.Context, null);
            Volatile.Write(ref slot.Activity, null);
            return;
        }

        var spinner = default(SpinWait);
        for (var spin = 0; spin < ReleaseSpins; spin++)
        {
            var version = Volatile.Read(ref slot.Version);
            if ((version & 1) == 0)
            {
                if (!ReferenceEquals(Volatile.Read(ref slot.Activity), activity))
                {
                    return; // someone stopped the request's Activity early and the slot went to another request
                }

                if (Interlocked.CompareExchange(ref slot.Version, version + 1, version) == version)
                {
                    Volatile.Write(ref slot.Context, null);
                    Volatile.Write(ref slot.Activity, null);
                    Volatile.Write(ref slot.Pending, null);
                    Volatile.Write(ref slot.Version, version + 2);
                    return;
                }
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        // Never block the request: the slot frees itself once hosting stops the Activity (a claim may then take it).
    }

    private HttpContext? Find(Activity activity) => FindSlot(activity, out var context, out _) >= 0 ? context : null;

    /// <summary>
    /// The index of the slot that holds this running <paramref name="activity"/>'s request, read consistently (the slot's
    /// version was even and unchanged across the reads), or -1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int FindSlot(Activity activity, out HttpContext? context, out Task? pending)
    {
        var start = Hash(activity);
        for (var probe = 0; probe < Probes; probe++)
        {
            var index = (start + probe) & _mask;
            ref var slot = ref _slots[index];
            var before = Volatile.Read(ref slot.Version);
            if ((before & 1) != 0 || !ReferenceEquals(Volatile.Read(ref slot.Activity), activity))
            {
                continue;
            }

            context = Volatile.Read(ref slot.Context);
            pending = Volatile.Read(ref slot.Pending);
            if (Volatile.Read(ref slot.Version) == before && context is not null && !activity.IsStopped)
            {
                return index;
            }
        }

        context = null;
        pending = null;
        return -1;
    }

    private static int Hash(Activity activity) =>
        (int)((uint)RuntimeHelpers.GetHashCode(activity) * 0x9E3779B1u >> 8);

    internal readonly struct Claim
    {
        internal Claim(int index, Activity? activity, Holder? holder, bool owned)
        {
            Index = index;
            Activity = activity;
            Holder = holder;
            Owned = owned;
        }

        /// <summary>Keyed by hosting's Activity in the table (not flowing in an AsyncLocal, nor the app's accessor).</summary>
        public bool IsKeyedByActivity => Activity is not null;

        /// <summary>False when an earlier claim of the same request holds the slot: freeing it is that claim's.</summary>
        public bool Owned { get; }

        public int Index { get; }

        public Activity? Activity { get; }

        public Holder? Holder { get; }
    }

    internal sealed class Holder(HttpContext context)
    {
        public HttpContext? Context { get; set; } = context;
    }

    private struct Slot
    {
        public int Version;
        public Activity? Activity;
        public HttpContext? Context;
        public Task? Pending;
    }
}
