using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// An insert's encoded exception chains, so that the events of one failure encode their chain once: the row's columns
/// <c>exceptions.type</c> to <c>exceptions.module</c> and the chain's JSON inside the payload (its <c>exceptions</c>
/// property, which holds every frame; the <c>frames</c> columns are written empty). A load or a storm repeats a few failures
/// thousands of times in an insert, and these bytes were most of the row's encoding (docs/benchmarks.md, "intake14",
/// "intake15"). The key is the whole chain compared by value: every field of every exception and every frame, all of which
/// the JSON contains, so two chains that differ in anything never share bytes. Bounded: at most <see cref="MaxChains"/> chains and <see cref="MaxBytes"/> bytes; past
/// either, further chains are encoded each time. One per batch, used by one thread at a time.
/// </summary>
internal sealed class ClickHouseChainCache
{
    internal const int MaxChains = 256;
    internal const int MaxBytes = 4 * 1024 * 1024;

    private readonly Dictionary<IReadOnlyList<ExceptionRecord>, EncodedChain> _chains = new(ChainComparer.Instance);
    private long _bytes;

    /// <summary>Chains kept.</summary>
    public int Count => _chains.Count;

    /// <summary>The chain's encoded bytes, if an equal chain was kept.</summary>
    public EncodedChain? Find(IReadOnlyList<ExceptionRecord> chain) =>
        chain.Count > 0 && _chains.TryGetValue(chain, out var encoded) ? encoded : null;

    /// <summary>Keeps the bytes encoded for <paramref name="chain"/> (copied), unless the cache is full.</summary>
    public void Keep(IReadOnlyList<ExceptionRecord> chain, ReadOnlySpan<byte> columns, ReadOnlySpan<byte> json)
    {
        if (chain.Count == 0 || _chains.Count >= MaxChains || _bytes + columns.Length + json.Length > MaxBytes)
        {
            return;
        }

        // A copy of the list: the key must not change if whoever owns the event's list changes it afterwards.
        _chains.TryAdd([.. chain], new EncodedChain(columns.ToArray(), json.ToArray()));
        _bytes += columns.Length + json.Length;
    }

    /// <summary>A chain's RowBinary columns (<c>exceptions.type</c> to <c>exceptions.module</c>) and its JSON array.</summary>
    internal sealed record EncodedChain(byte[] Columns, byte[] Json);

    /// <summary>
    /// Chains equal in every field the encodings write. <see cref="FrameRecord"/>'s own equality compares all its fields;
    /// <see cref="ExceptionRecord"/>'s would compare its frames' list by reference, so its fields are compared here (a test
    /// fails if it gains one this does not know).
    /// </summary>
    internal sealed class ChainComparer : IEqualityComparer<IReadOnlyList<ExceptionRecord>>
    {
        public static readonly ChainComparer Instance = new();

        public bool Equals(IReadOnlyList<ExceptionRecord>? x, IReadOnlyList<ExceptionRecord>? y)
        {
            if (ReferenceEquals(x, y))
            {
                return true;
            }

            if (x is null || y is null || x.Count != y.Count)
            {
                return false;
            }

            for (var i = 0; i < x.Count; i++)
            {
                if (!SameException(x[i], y[i]))
                {
                    return false;
                }
            }

            return true;
        }

        private static bool SameException(ExceptionRecord x, ExceptionRecord y)
        {
            if (!string.Equals(x.Type, y.Type, StringComparison.Ordinal) ||
                !string.Equals(x.Value, y.Value, StringComparison.Ordinal) ||
                !string.Equals(x.Module, y.Module, StringComparison.Ordinal) ||
                x.Frames.Count != y.Frames.Count)
            {
                return false;
            }

            for (var f = 0; f < x.Frames.Count; f++)
            {
                if (!x.Frames[f].Equals(y.Frames[f]))
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>
        /// From a few fields that tell failures apart (each exception's type, its frame count, its first frame's function
        /// and line): hashing every string of every frame cost as much as the comparison. Equality decides the rest.
        /// </summary>
        public int GetHashCode(IReadOnlyList<ExceptionRecord> chain)
        {
            var hash = new HashCode();
            hash.Add(chain.Count);
            foreach (var exception in chain)
            {
                hash.Add(exception.Type, StringComparer.Ordinal);
                hash.Add(exception.Frames.Count);
                if (exception.Frames.Count > 0)
                {
                    hash.Add(exception.Frames[0].Function, StringComparer.Ordinal);
                    hash.Add(exception.Frames[0].Line);
                }
            }

            return hash.ToHashCode();
        }
    }
}
