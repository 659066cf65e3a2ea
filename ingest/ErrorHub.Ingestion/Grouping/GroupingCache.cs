using ErrorHub.Ingestion.Decoding;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// <see cref="Grouper.Group(IncomingEvent)"/>'s results for the events of one batch or one insert, so that the same
/// failure reported again (a storm is mostly that) is grouped once: grouping is a third of what preparing an event costs
/// (docs/benchmarks.md, "intake14"). Two events share a result only when everything grouping reads is equal in both:
/// every exception of the chain whole (type, message, module, and each frame with every field, the ones grouping ignores
/// too), the SDK's fingerprint, the logger, the endpoint tags the culprit may name (and version 9 counts for a minimal API
/// handler), the handler tag version 11 counts for an inlined handler method, and the event's message when it has no exception. Not thread-safe: one per preparing thread, kept no longer than the batch or insert it serves.
/// </summary>
/// <remarks>
/// Bounded: past <see cref="MaxEntries"/> distinct inputs the rest are grouped each time and not kept, so a batch of all
/// different events costs one look-up each beside its grouping and holds at most that many exception chains alive.
/// </remarks>
internal sealed class GroupingCache
{
    /// <summary>Most results kept; each keeps its event's exception chain alive with it.</summary>
    internal const int MaxEntries = 256;

    private readonly Dictionary<GroupingInput, EventGrouping> _results = new(GroupingInput.Comparer);

    /// <summary>The hash of each exception chain seen, by the chain's instance: the decoder gives every event whose chain came as the same bytes the same chain (<see cref="Chains"/>), so a chain is hashed once.</summary>
    private readonly Dictionary<IReadOnlyList<ExceptionRecord>, int> _chainHashes = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// The exception chains decoded for the same batch or insert (<see cref="EventBatchDecoder.Decode(ReadOnlyMemory{byte}, DecodedChains)"/>):
    /// they live as long as the groupings made from them, and the events that share one share its grouping.
    /// </summary>
    public DecodedChains Chains { get; } = new();

    /// <summary>Events grouped from a result kept before.</summary>
    public int Hits { get; private set; }

    /// <summary>Results kept.</summary>
    public int Count => _results.Count;

    /// <summary>The event's grouping: kept from an earlier event with the same inputs, or made now.</summary>
    public EventGrouping Group(IncomingEvent incoming)
    {
        if (!_chainHashes.TryGetValue(incoming.Exceptions, out var chainHash))
        {
            chainHash = GroupingInput.HashChain(incoming.Exceptions);
            if (_chainHashes.Count < MaxEntries)
            {
                _chainHashes.Add(incoming.Exceptions, chainHash);
            }
        }

        var input = new GroupingInput(incoming, chainHash);
        if (_results.TryGetValue(input, out var grouping))
        {
            Hits++;
            return grouping;
        }

        grouping = Grouper.Group(incoming);
        if (_results.Count < MaxEntries)
        {
            _results.Add(input, grouping);
        }

        return grouping;
    }

    /// <summary>What grouping reads of an event, compared by value, its hash computed once.</summary>
    private readonly struct GroupingInput
    {
        public static readonly IEqualityComparer<GroupingInput> Comparer = new InputComparer();

        private readonly IReadOnlyList<ExceptionRecord> _exceptions;
        private readonly IReadOnlyList<string>? _fingerprint;
        private readonly string? _logger;
        private readonly string? _message;
        private readonly string? _route;
        private readonly string? _endpoint;
        private readonly string? _handler;
        private readonly int _hash;

        /// <summary>The hash of a chain's names that tell failures apart (types, messages, methods, lines); equality reads everything.</summary>
        public static int HashChain(IReadOnlyList<ExceptionRecord> exceptions)
        {
            var hash = new HashCode();
            hash.Add(exceptions.Count);
            foreach (var exception in exceptions)
            {
                hash.Add(exception.Type);
                hash.Add(exception.Value);
                hash.Add(exception.Frames.Count);
                foreach (var frame in exception.Frames)
                {
                    hash.Add(frame.Function);
                    hash.Add(frame.Type);
                    hash.Add(frame.Line);
                }
            }

            return hash.ToHashCode();
        }

        public GroupingInput(IncomingEvent incoming, int chainHash)
        {
            _exceptions = incoming.Exceptions;
            _fingerprint = incoming.Fingerprint;
            _logger = incoming.Logger;

            // Grouping reads the event's own message only when there is no exception (title and key come from the chain otherwise).
            _message = incoming.Exceptions.Count == 0 ? incoming.Message : null;
            _route = incoming.Tags.GetValueOrDefault(Grouper.RouteTag);
            _endpoint = incoming.Tags.GetValueOrDefault(Grouper.EndpointTag);
            _handler = incoming.Tags.GetValueOrDefault(Grouper.HandlerTag);

            var hash = new HashCode();
            hash.Add(chainHash);
            hash.Add(_fingerprint?.Count ?? -1);
            hash.Add(_logger);
            hash.Add(_message);
            _hash = hash.ToHashCode();
        }

        private bool Equals(in GroupingInput other)
        {
            if (_hash != other._hash
                || !string.Equals(_logger, other._logger, StringComparison.Ordinal)
                || !string.Equals(_message, other._message, StringComparison.Ordinal)
                || !string.Equals(_route, other._route, StringComparison.Ordinal)
                || !string.Equals(_endpoint, other._endpoint, StringComparison.Ordinal)
                || !string.Equals(_handler, other._handler, StringComparison.Ordinal)
                || !SameStrings(_fingerprint, other._fingerprint)
                || _exceptions.Count != other._exceptions.Count)
            {
                return false;
            }

            for (var i = 0; i < _exceptions.Count && !ReferenceEquals(_exceptions, other._exceptions); i++)
            {
                if (!SameException(_exceptions[i], other._exceptions[i]))
                {
                    return false;
                }
            }

            return true;
        }

        private static bool SameException(ExceptionRecord a, ExceptionRecord b)
        {
            if (ReferenceEquals(a, b))
            {
                return true;
            }

            if (!string.Equals(a.Type, b.Type, StringComparison.Ordinal)
                || !string.Equals(a.Value, b.Value, StringComparison.Ordinal)
                || !string.Equals(a.Module, b.Module, StringComparison.Ordinal)
                || a.Frames.Count != b.Frames.Count)
            {
                return false;
            }

            for (var f = 0; f < a.Frames.Count; f++)
            {
                // The record's own equality: every field, those grouping ignores too (file, line, column).
                if (!a.Frames[f].Equals(b.Frames[f]))
                {
                    return false;
                }
            }

            return true;
        }

        private static bool SameStrings(IReadOnlyList<string>? a, IReadOnlyList<string>? b)
        {
            if (a is null || b is null)
            {
                return a is null && b is null;
            }

            if (a.Count != b.Count)
            {
                return false;
            }

            for (var i = 0; i < a.Count; i++)
            {
                if (!string.Equals(a[i], b[i], StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }

        private sealed class InputComparer : IEqualityComparer<GroupingInput>
        {
            public bool Equals(GroupingInput x, GroupingInput y) => x.Equals(in y);

            public int GetHashCode(GroupingInput input) => input._hash;
        }
    }
}
