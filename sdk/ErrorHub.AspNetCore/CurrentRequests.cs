using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
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
internal sealed class CurrentRequests
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

        if (context.Features.Get<IHttpActivityFeature>()?.Activity is { IsStopped: false } activity)
        {
            var start = Hash(activity);
            for (var probe = 0; probe < Probes; probe++)
            {
                var index = (start + probe) & _mask;
                ref var slot = ref _slots[index];
                var version = Volatile.Read(ref slot.Version);
                if ((version & 1) != 0 || Volatile.Read(ref slot.Activity) is { IsStopped: false })
                {
                    continue; // being written, or another live request's
                }

                // Nobody changed the slot since it was read free: it is ours to write.
                if (Interlocked.CompareExchange(ref slot.Version, version + 1, version) == version)
                {
                    Volatile.Write(ref slot.Activity, activity);
                    Volatile.Write(ref slot.Context, context);
                    Volatile.Write(ref slot.Version, version + 2);
                    return new Claim(index, activity, holder: null);
                }
            }
        }

        // No Activity to key it by, or the table is full around it: what an accessor would do, at what it costs.
        var holder = new Holder(context);
        _flowing.Value = holder;
        return new Claim(-1, activity: null, holder);
    }

    /// <summary>The request's <c>UseErrorHub()</c> is done: flows that outlive it see no request from here on.</summary>
    public void Exit(in Claim claim)
    {
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
                    Volatile.Write(ref slot.Version, version + 2);
                    return;
                }
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        // Never block the request: the slot frees itself once hosting stops the Activity (a claim may then take it).
    }

    private HttpContext? Find(Activity activity)
    {
        var start = Hash(activity);
        for (var probe = 0; probe < Probes; probe++)
        {
            ref var slot = ref _slots[(start + probe) & _mask];
            var before = Volatile.Read(ref slot.Version);
            if ((before & 1) != 0 || !ReferenceEquals(Volatile.Read(ref slot.Activity), activity))
            {
                continue;
            }

            var context = Volatile.Read(ref slot.Context);
            if (Volatile.Read(ref slot.Version) == before && context is not null && !activity.IsStopped)
            {
                return context;
            }
        }

        return null;
    }

    private static int Hash(Activity activity) =>
        (int)((uint)RuntimeHelpers.GetHashCode(activity) * 0x9E3779B1u >> 8);

    internal readonly struct Claim
    {
        internal Claim(int index, Activity? activity, Holder? holder)
        {
            Index = index;
            Activity = activity;
            Holder = holder;
        }

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
    }
}
