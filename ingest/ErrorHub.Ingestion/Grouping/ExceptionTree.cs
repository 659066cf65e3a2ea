using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// The exception chain as a tree, rebuilt from the list clients send (outermost first, each inner
/// exception after its parent, an AggregateException's inner exceptions after it in order), and the
/// root causes found in it.
/// </summary>
internal sealed class ExceptionTree
{
    private ExceptionTree(ExceptionRecord exception, ExceptionTree? parent)
    {
        Exception = exception;
        Parent = parent;
    }

    public ExceptionRecord Exception { get; }

    public ExceptionTree? Parent { get; }

    public List<ExceptionTree> Inner { get; } = [];

    /// <summary>The exceptions this one is wrapped in, nearest first.</summary>
    public IEnumerable<ExceptionTree> Wrappers
    {
        get
        {
            for (var wrapper = Parent; wrapper is not null; wrapper = wrapper.Parent)
            {
                yield return wrapper;
            }
        }
    }

    /// <summary>
    /// The list does not say where one inner exception's own chain ends and the next inner exception
    /// of an AggregateException begins. .NET (Core 3.0 and later) lists the message of each direct
    /// inner exception in the aggregate's message, "One or more errors occurred. (first) (second)", so
    /// an exception whose message is listed there starts a new branch; without that (.NET Framework) the
    /// list is read as one chain.
    /// </summary>
    public static ExceptionTree Build(IReadOnlyList<ExceptionRecord> exceptions)
    {
        ArgumentOutOfRangeException.ThrowIfZero(exceptions.Count);
        var next = 0;
        return Read(exceptions, ref next, parent: null, enclosingAggregates: []);
    }

    /// <summary>
    /// The innermost exceptions: wrappers (TargetInvocationException, AggregateException,
    /// DbUpdateException, EF's retry wrapper, an app's own "could not place order") only say where the
    /// failure was caught. A cancellation is a root cause of its own: what is inside it is how it
    /// unwound. But a cancellation the app caught and rethrew as its own exception ("the shipping
    /// provider did not answer within 200 ms") is how that exception came about: the app's exception
    /// says what went wrong, so it is the root cause.
    /// </summary>
    public IReadOnlyList<ExceptionTree> RootCauses(GroupingRules rules)
    {
        var roots = new List<ExceptionTree>();
        Collect(this, roots, rules);
        return roots;

        static void Collect(ExceptionTree node, List<ExceptionTree> roots, GroupingRules rules)
        {
            if (DotNetFrames.IsCancellation(node.Exception.Type)
                && node.Parent is { Inner.Count: 1 } parent
                && !DotNetFrames.IsWrapper(parent.Exception, rules)
                && !DotNetFrames.IsCancellation(parent.Exception.Type))
            {
                roots.Add(parent);
                return;
            }

            if (node.Inner.Count == 0 || DotNetFrames.IsCancellation(node.Exception.Type))
            {
                roots.Add(node);
                return;
            }

            foreach (var inner in node.Inner)
            {
                Collect(inner, roots, rules);
            }
        }
    }

    private static ExceptionTree Read(IReadOnlyList<ExceptionRecord> exceptions, ref int next, ExceptionTree? parent, List<Listing> enclosingAggregates)
    {
        var node = new ExceptionTree(exceptions[next++], parent);
        if (DotNetFrames.IsAggregate(node.Exception.Type))
        {
            var listing = new Listing(node.Exception.Value);
            enclosingAggregates.Add(listing);
            while (next < exceptions.Count && (node.Inner.Count == 0 || listing.Lists(exceptions[next].Value)))
            {
                listing.Consume(exceptions[next].Value);
                node.Inner.Add(Read(exceptions, ref next, node, enclosingAggregates));
            }

            enclosingAggregates.RemoveAt(enclosingAggregates.Count - 1);
        }
        else if (next < exceptions.Count && !IsListedByAny(enclosingAggregates, exceptions[next]))
        {
            node.Inner.Add(Read(exceptions, ref next, node, enclosingAggregates));
        }

        return node;
    }

    private static bool IsListedByAny(List<Listing> aggregates, ExceptionRecord candidate) =>
        aggregates.Exists(aggregate => aggregate.Lists(candidate.Value));

    /// <summary>The messages an aggregate lists as "(message)", each counted as often as it is listed and used up by the inner exceptions read so far.</summary>
    private sealed class Listing(string aggregateMessage)
    {
        private readonly Dictionary<string, int> _used = new(StringComparer.Ordinal);

        public bool Lists(string message) => message.Length > 0 && Occurrences(message) > _used.GetValueOrDefault(message);

        public void Consume(string message)
        {
            if (Lists(message))
            {
                _used[message] = _used.GetValueOrDefault(message) + 1;
            }
        }

        private int Occurrences(string message)
        {
            var listed = $"({message})";
            var count = 0;
            for (var at = aggregateMessage.IndexOf(listed, StringComparison.Ordinal); at >= 0; at = aggregateMessage.IndexOf(listed, at + listed.Length, StringComparison.Ordinal))
            {
                count++;
            }

            return count;
        }
    }
}
