using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// Which timers an app schedules and which of them wake the runtime's timer thread (<c>.NET Timer</c>), by the code that
/// scheduled them: a diagnostic of the storm app (<c>sdk-storm-app errorhub+timers</c>), never part of the SDK. perf
/// cannot name them (the timer thread runs no managed frame of the timer's owner), so the runtime is asked instead:
/// <list type="bullet">
/// <item>its framework event source announces every timer scheduled (<c>ThreadTransferSend</c>, raised by
/// <c>TimerQueueTimer.Change</c> on the scheduling thread, with the due time) and every timer that fires
/// (<c>ThreadTransferReceive</c>, with the same id); an in-process listener gets them on the raising thread, so the
/// scheduling thread's stack names the owner;</item>
/// <item>whether a scheduled timer re-arms the timer thread (a wake of its own) is read, by reflection, from the timer
/// queue's state just before the runtime decides it (a timer due sooner than the queue's next firing does).</item>
/// </list>
/// The listener's own cost (a stack trace per scheduled timer, an event per pool work item) slows the app: its counts
/// per batch are the finding, not its rates or CPU.
/// </summary>
internal sealed class TimerCensus : EventListener
{
    private const string FrameworkSource = "System.Diagnostics.Eventing.FrameworkEventSource";
    private const EventKeywords ThreadTransfer = (EventKeywords)0x10;

    private static readonly Type? TimerQueueType = typeof(Timer).Assembly.GetType("System.Threading.TimerQueue");
    private static readonly FieldInfo? IsTimerScheduled = QueueField("_isTimerScheduled");
    private static readonly FieldInfo? CurrentTimerStartTicks = QueueField("_currentTimerStartTicks");
    private static readonly FieldInfo? CurrentTimerDuration = QueueField("_currentTimerDuration");
    private static readonly PropertyInfo? QueueTickCount = TimerQueueType?.GetProperty("TickCount64", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public);
    private static readonly PropertyInfo? Instances = TimerQueueType?.GetProperty("Instances", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public);

    private readonly Lock _lock = new();
    private readonly Dictionary<long, Owner> _byTimer = [];
    private readonly Dictionary<string, Owner> _owners = [];
    private readonly Stopwatch _since = Stopwatch.StartNew();
    private long _firedUnknown;
    private long _fired;

    private static FieldInfo? QueueField(string name) => TimerQueueType?.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic);

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == FrameworkSource)
        {
            EnableEvents(eventSource, EventLevel.Informational, ThreadTransfer);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        switch (eventData.EventName)
        {
            case "ThreadTransferSend" when eventData.Payload is [var id, _, _, _, var due, var period, ..]:
                Scheduled(Convert.ToInt64(id, CultureInfo.InvariantCulture), Convert.ToInt32(due, CultureInfo.InvariantCulture), Convert.ToInt32(period, CultureInfo.InvariantCulture));
                break;
            case "ThreadTransferReceive" when eventData.Payload is [var id, ..]:
                Fired(Convert.ToInt64(id, CultureInfo.InvariantCulture));
                break;
        }
    }

    private void Scheduled(long id, int dueMilliseconds, int period)
    {
        // Raised inside the timer queue's lock, before the queue decides whether to re-arm the timer thread.
        var wakes = WouldWakeTimerThread((uint)dueMilliseconds);
        var name = OwnerName(new StackTrace(3, false)) + (period > 0 ? $" (periodic {period} ms)" : "");
        lock (_lock)
        {
            if (!_owners.TryGetValue(name, out var owner))
            {
                _owners[name] = owner = new Owner(name);
            }

            owner.Scheduled++;
            owner.DueMillisecondsTotal += dueMilliseconds;
            owner.WokeTimerThread += wakes ? 1 : 0;
            _byTimer[id] = owner;
        }
    }

    private void Fired(long id)
    {
        lock (_lock)
        {
            _fired++;
            if (_byTimer.TryGetValue(id, out var owner))
            {
                owner.Fired++;
            }
            else
            {
                _firedUnknown++;
            }
        }
    }

    private static bool WouldWakeTimerThread(uint due)
    {
        if (Instances?.GetValue(null) is not Array { Length: 1 } queues || QueueTickCount is null)
        {
            return false; // one queue per core: only a one-core app's is read
        }

        var queue = queues.GetValue(0);
        if (!(bool)IsTimerScheduled!.GetValue(queue)!)
        {
            return true;
        }

        var elapsed = (long)QueueTickCount.GetValue(null)! - (long)CurrentTimerStartTicks!.GetValue(queue)!;
        var duration = (uint)CurrentTimerDuration!.GetValue(queue)!;
        return elapsed < duration && due < duration - (uint)elapsed;
    }

    /// <summary>The first frames of the scheduling thread outside the runtime's timer and async plumbing.</summary>
    private static string OwnerName(StackTrace trace)
    {
        var via = "";
        var parts = new List<string>();
        foreach (var frame in trace.GetFrames())
        {
            var method = frame.GetMethod();
            var type = method?.DeclaringType;
            if (type is null)
            {
                continue;
            }

            var ns = type.Namespace ?? "";
            if (ns.StartsWith("System.Diagnostics.Tracing", StringComparison.Ordinal) || type == typeof(TimerCensus))
            {
                continue;
            }

            var typeName = type.Name;
            if (typeName is "TimerQueueTimer" or "TimerQueue" or "TimerHolder" or "Timer" or "DelayPromise" or "DelayPromiseWithCancellation"
                or "CancellationTokenSource" or "Task" or "SystemTimeProvider" or "TimeProvider" or "SystemTimeProviderTimer" or "Linked2CancellationTokenSource")
            {
                via = via.Length == 0 ? $"{typeName}.{method!.Name}" : via;
                continue;
            }

            if (ns.StartsWith("System.Runtime.CompilerServices", StringComparison.Ordinal) || typeName is "ExecutionContext" or "ThreadPoolWorkQueue"
                or "PortableThreadPool" or "WorkerThread" or "Thread" or "AwaitTaskContinuation" or "ThreadPoolTypedWorkItemQueue")
            {
                continue;
            }

            // An async method's frame is its state machine's MoveNext: <Name>d__N.
            var name = typeName.StartsWith('<') && typeName.IndexOf('>') is > 1 and var end
                ? $"{type.DeclaringType?.Name}.{typeName[1..end]}"
                : $"{typeName}.{method!.Name}";
            parts.Add(name);
            if (parts.Count == 4)
            {
                break;
            }
        }

        return $"[{via}] {string.Join(" < ", parts)}";
    }

    public void Reset()
    {
        lock (_lock)
        {
            _owners.Clear();
            _byTimer.Clear();
            _fired = 0;
            _firedUnknown = 0;
            _since.Restart();
        }
    }

    public string Report()
    {
        lock (_lock)
        {
            var seconds = _since.Elapsed.TotalSeconds;
            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"// {seconds:F1} s; timers fired {_fired:N0} ({_fired / seconds:F1}/s, {_firedUnknown:N0} scheduled before the census)");
            text.AppendLine(CultureInfo.InvariantCulture, $"// scheduled timers that re-armed the timer thread (a wake of its own): {_owners.Values.Sum(o => o.WokeTimerThread):N0}");
            text.AppendLine("| scheduled by | scheduled /s | mean due, ms | re-armed the timer thread /s | fired /s |");
            text.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var owner in _owners.Values.OrderByDescending(o => o.Scheduled))
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {owner.Name} | {owner.Scheduled / seconds:F1} | {(double)owner.DueMillisecondsTotal / owner.Scheduled:F0} | {owner.WokeTimerThread / seconds:F1} | {owner.Fired / seconds:F1} |");
            }

            text.AppendLine("// timers alive now (callback, state):");
            foreach (var alive in AliveTimers().GroupBy(t => t).OrderByDescending(g => g.Count()))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"//   {alive.Count()} × {alive.Key}");
            }

            return text.ToString();
        }
    }

    private static List<string> AliveTimers()
    {
        var alive = new List<string>();
        if (Instances?.GetValue(null) is not Array queues)
        {
            return alive;
        }

        var timerType = typeof(Timer).Assembly.GetType("System.Threading.TimerQueueTimer")!;
        var next = timerType.GetField("_next", BindingFlags.Instance | BindingFlags.NonPublic)!;
        var callback = timerType.GetField("_timerCallback", BindingFlags.Instance | BindingFlags.NonPublic)!;
        var state = timerType.GetField("_state", BindingFlags.Instance | BindingFlags.NonPublic)!;
        var period = timerType.GetField("_period", BindingFlags.Instance | BindingFlags.NonPublic)!;
        foreach (var queue in queues)
        {
            // Read without the queue's lock (a report after the storm): a list changed meanwhile is cut short, not followed forever.
            foreach (var list in new[] { QueueField("_shortTimers")!.GetValue(queue), QueueField("_longTimers")!.GetValue(queue) })
            {
                var seen = 0;
                for (var timer = list; timer is not null && seen++ < 10_000; timer = next.GetValue(timer))
                {
                    var method = (callback.GetValue(timer) as Delegate)?.Method;
                    alive.Add($"{method?.DeclaringType?.Name}.{method?.Name}, {state.GetValue(timer)?.GetType().Name}, period {period.GetValue(timer)}");
                }
            }
        }

        return alive;
    }

    private sealed class Owner(string name)
    {
        public string Name { get; } = name;

        public long Scheduled { get; set; }

        public long DueMillisecondsTotal { get; set; }

        public long WokeTimerThread { get; set; }

        public long Fired { get; set; }
    }
}
