using System.IO.Hashing;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Decoding;

/// <summary>
/// Exception chains already read, by the exact bytes of their <c>exceptions</c> array, so that a chain sent again is not read
/// field by field again. A batch repeats its failures (the same exception with the same frames, event after event), and a
/// chain's frames are most of an event's fields; reading the same bytes gives the same chain (the same values, the same
/// refusals: nothing else goes into it but the limits, which are the decoder's), so an array whose bytes equal one read
/// before takes that one's result: the chain itself when events are made (the same instance, which every later step
/// compares by reference before comparing values), only that it was valid and how many exceptions it keeps when the batch
/// is validated. The bytes are compared whole, never trusted to a hash.
/// </summary>
/// <remarks>
/// Bounded: at most <see cref="MaxChains"/> chains and <see cref="MaxBytes"/> bytes of them, and once more arrays missed
/// than hit (past <see cref="GiveUpAfter"/> misses) the rest are read directly, so a batch of all different failures pays
/// for a few dozen look-ups only. One per batch or per insert, used by one thread at a time and with one decoder (whose
/// limits decide what the bytes are read to).
/// </remarks>
internal sealed class DecodedChains
{
    internal const int MaxChains = 256;
    internal const int MaxBytes = 1024 * 1024;

    /// <summary>
    /// Misses after which the look-ups stop unless at least as many arrays hit: each miss costs a skip of the array and a
    /// hash, wasted on chains that never come again.
    /// </summary>
    internal const int GiveUpAfter = 32;

    private static readonly long Seed = Random.Shared.NextInt64();

    /// <summary>Bytes of a chain's start that name its candidates in <see cref="_byStart"/>; shorter chains are found by their whole bytes only.</summary>
    internal const int StartLength = 64;

    private readonly Dictionary<ulong, Entry> _entries = [];

    /// <summary>The chains kept, by a hash of their first <see cref="StartLength"/> bytes (several chains may start alike).</summary>
    private readonly Dictionary<ulong, List<Entry>> _byStart = [];

    /// <summary>The one body every array kept comes from, which then need not be copied; none when arrays of several bodies are kept.</summary>
    private readonly ReadOnlyMemory<byte>? _body;
    private long _bytes;
    private int _misses;

    /// <summary>Chains of several batches (an insert's): the bytes of each chain kept are copied.</summary>
    public DecodedChains()
    {
    }

    /// <summary>Chains of one batch, read from <paramref name="body"/> while it lives: the chains kept refer to its bytes.</summary>
    private DecodedChains(ReadOnlyMemory<byte> body)
    {
        _body = body;
    }

    /// <summary>A cache for the arrays of <paramref name="body"/> alone, kept no longer than it is read.</summary>
    public static DecodedChains ForOneBatch(ReadOnlyMemory<byte> body) => new(body);

    /// <summary>Arrays that took a chain read before.</summary>
    public int Hits { get; private set; }

    /// <summary>Chains kept.</summary>
    public int Count => _entries.Count;

    /// <summary>Whether looking arrays up still pays: false once <see cref="GiveUpAfter"/> arrays missed and fewer hit.</summary>
    public bool Worthwhile => _misses < GiveUpAfter || Hits >= _misses;

    /// <summary>
    /// What the array at the start of <paramref name="rest"/> (the bytes still to read) was read to, when it is a chain kept
    /// and <paramref name="materialized"/> says the same about both; <paramref name="length"/> is its length in bytes. Found
    /// without skipping the array first: a chain kept is the bytes of exactly one whole value, and MessagePack is read from a
    /// value's first byte to its last without looking beyond, so bytes that begin with a kept chain's bytes hold that very
    /// array, whatever follows it. Looked up by a hash of their first <see cref="StartLength"/> bytes, then compared with each
    /// candidate's bytes.
    /// </summary>
    public bool TryGetByStart(ReadOnlySpan<byte> rest, bool materialized, out IReadOnlyList<ExceptionRecord>? chain, out int kept, out int length)
    {
        if (rest.Length >= StartLength && _byStart.TryGetValue(XxHash3.HashToUInt64(rest[..StartLength], Seed), out var candidates))
        {
            foreach (var entry in candidates)
            {
                if ((entry.Chain is not null) == materialized && rest.StartsWith(entry.Bytes.Span))
                {
                    Hits++;
                    chain = entry.Chain;
                    kept = entry.Kept;
                    length = entry.Bytes.Length;
                    return true;
                }
            }
        }

        chain = null;
        kept = 0;
        length = 0;
        return false;
    }

    /// <summary>What an array of exactly these bytes was read to, when <paramref name="materialized"/> says the same about both.</summary>
    public bool TryGet(ReadOnlySpan<byte> encoded, bool materialized, out ulong hash, out IReadOnlyList<ExceptionRecord>? chain, out int kept)
    {
        hash = XxHash3.HashToUInt64(encoded, Seed);
        if (_entries.TryGetValue(hash, out var entry)
            && (entry.Chain is not null) == materialized
            && encoded.SequenceEqual(entry.Bytes.Span))
        {
            Hits++;
            chain = entry.Chain;
            kept = entry.Kept;
            return true;
        }

        _misses++;
        chain = null;
        kept = 0;
        return false;
    }

    /// <summary>
    /// Keeps what an array of these bytes (whose hash <see cref="TryGet"/> gave), found at <paramref name="offset"/> of the body
    /// being read, was read to, unless the cache is full or another array has its hash. The bytes are copied unless the cache
    /// is for that body alone.
    /// </summary>
    public void Keep(ReadOnlySpan<byte> encoded, int offset, ulong hash, IReadOnlyList<ExceptionRecord>? chain, int kept)
    {
        if (_entries.Count >= MaxChains || _bytes + encoded.Length > MaxBytes)
        {
            return;
        }

        var bytes = _body is { } body ? body.Slice(offset, encoded.Length) : encoded.ToArray();
        var entry = new Entry(bytes, chain, kept);
        if (_entries.TryAdd(hash, entry))
        {
            _bytes += encoded.Length;
            if (encoded.Length >= StartLength)
            {
                var start = XxHash3.HashToUInt64(encoded[..StartLength], Seed);
                if (_byStart.TryGetValue(start, out var alike))
                {
                    alike.Add(entry);
                }
                else
                {
                    _byStart[start] = [entry];
                }
            }
        }
    }

    private sealed record Entry(ReadOnlyMemory<byte> Bytes, IReadOnlyList<ExceptionRecord>? Chain, int Kept);
}
