using System.Buffers.Binary;
using System.Text;

namespace ErrorHub.Ingestion.Decoding;

/// <summary>
/// The strings of one batch, each made once. A batch repeats itself: every event has the same field
/// names, and events of one app share frame types, methods, modules and files, so most strings a batch
/// holds are already known by the time they come again. Short strings are looked up by their UTF-8 bytes,
/// so a string seen before costs a hash and a comparison of bytes, never a decoding; long ones and those
/// past <see cref="MaxEntries"/> are made as they come. Invalid UTF-8 becomes U+FFFD, as the MessagePack
/// library does.
/// </summary>
/// <remarks>
/// A client that sends strings which all land in one bucket gets them made one by one, never a longer search: a look-up
/// compares at most <see cref="MaxProbes"/> keys. The table holds at most <see cref="MaxEntries"/> strings and
/// <see cref="MaxEntries"/> × <see cref="MaxInternedBytes"/> bytes of keys, whatever a batch contains.
/// </remarks>
internal sealed class Utf8StringTable
{
    /// <summary>Strings longer than this (in bytes) are not looked up: they are rarely repeated and costly to hash.</summary>
    internal const int MaxInternedBytes = 256;

    /// <summary>Bounds what one batch can make the table hold (at most about 1 MB of characters).</summary>
    internal const int MaxEntries = 4096;

    // Powers of two: the bucket is the hash's low bits. At most two buckets per entry.
    private const int MinBucketCount = 64;
    private const int MaxBucketCount = MaxEntries * 2;

    /// <summary>Most keys compared in one look-up; a string whose bucket is that full is made without being kept.</summary>
    private const int MaxProbes = 8;

    private static readonly ulong Seed = (ulong)Random.Shared.NextInt64();

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private int[]? _buckets; // 1 + the index of the bucket's first entry; 0 for none
    private Entry[] _entries = [];
    private byte[] _keys = [];
    private int _count;
    private int _keysLength;

    /// <summary>The text of <paramref name="utf8"/>, cut to at most <paramref name="maxChars"/> characters (never inside a surrogate pair).</summary>
    public string Get(ReadOnlySpan<byte> utf8, int maxChars = int.MaxValue)
    {
        if (utf8.IsEmpty || maxChars <= 0)
        {
            return "";
        }

        if (utf8.Length > MaxInternedBytes)
        {
            return Cut(Utf8.GetString(utf8), maxChars);
        }

        return Cut(Intern(utf8), maxChars);
    }

    private string Intern(ReadOnlySpan<byte> utf8)
    {
        var hash = Hash(utf8);
        _buckets ??= new int[MinBucketCount];
        ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
        var probes = 0;
        for (var i = bucket - 1; i >= 0; i = _entries[i].Next - 1, probes++)
        {
            ref readonly var entry = ref _entries[i];
            if (entry.Hash == hash && _keys.AsSpan(entry.KeyStart, entry.KeyLength).SequenceEqual(utf8))
            {
                return entry.Value;
            }
        }

        var made = Utf8.GetString(utf8);
        if (_count < MaxEntries && probes < MaxProbes)
        {
            if (_count == _entries.Length)
            {
                Array.Resize(ref _entries, Math.Max(32, _count * 2));
            }

            if (_keysLength + utf8.Length > _keys.Length)
            {
                Array.Resize(ref _keys, Math.Max(Math.Max(1024, _keys.Length * 2), _keysLength + utf8.Length));
            }

            utf8.CopyTo(_keys.AsSpan(_keysLength));
            _entries[_count] = new Entry(hash, _keysLength, utf8.Length, made, bucket);
            _keysLength += utf8.Length;
            bucket = ++_count;
            if (_count * 2 > _buckets.Length && _buckets.Length < MaxBucketCount)
            {
                Rehash(_buckets.Length * 2);
            }
        }

        return made;
    }

    /// <summary>Spreads the entries over more buckets: the table starts small, so a batch with few strings (or a refused one) allocates little.</summary>
    private void Rehash(int bucketCount)
    {
        _buckets = new int[bucketCount];
        for (var i = 0; i < _count; i++)
        {
            ref var bucket = ref _buckets[_entries[i].Hash & (bucketCount - 1)];
            _entries[i] = _entries[i] with { Next = bucket };
            bucket = i + 1;
        }
    }

    /// <summary>
    /// A fast hash of at most <see cref="MaxInternedBytes"/> bytes, eight at a time, seeded once per process. It need not
    /// resist chosen collisions: a bucket never grows past <see cref="MaxProbes"/> entries, so colliding strings only stop
    /// being shared, and a look-up never compares more than that many keys.
    /// </summary>
    private static int Hash(ReadOnlySpan<byte> utf8)
    {
        const ulong Multiplier = 0x9E3779B97F4A7C15;
        var length = utf8.Length;
        var hash = Seed ^ (ulong)length;
        ulong tail;
        if (length >= 8)
        {
            var rest = utf8;
            while (rest.Length > 8)
            {
                hash = (hash ^ BinaryPrimitives.ReadUInt64LittleEndian(rest)) * Multiplier;
                hash ^= hash >> 29;
                rest = rest[8..];
            }

            // The last eight bytes, overlapping the words already mixed in: one read instead of a loop over the bytes left.
            tail = BinaryPrimitives.ReadUInt64LittleEndian(utf8[^8..]);
        }
        else if (length >= 4)
        {
            tail = BinaryPrimitives.ReadUInt32LittleEndian(utf8) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(utf8[^4..]) << 32);
        }
        else if (length > 0)
        {
            tail = utf8[0] | ((ulong)utf8[length >> 1] << 8) | ((ulong)utf8[length - 1] << 16);
        }
        else
        {
            tail = 0;
        }

        hash = (hash ^ tail) * Multiplier;
        hash ^= hash >> 32;
        return (int)hash;
    }

    /// <summary>What <see cref="Get"/> gives for <paramref name="utf8"/>, made without the table (for text needed once, such as an error's path).</summary>
    internal static string Decode(ReadOnlySpan<byte> utf8, int maxChars = int.MaxValue) =>
        utf8.IsEmpty || maxChars <= 0 ? "" : Cut(Utf8.GetString(utf8), maxChars);

    /// <summary>
    /// Decodes <paramref name="utf8"/> into <paramref name="chars"/> (at least <paramref name="utf8"/>'s length: UTF-8 never
    /// gives more characters than bytes) as <see cref="Get"/> decodes it, and returns the count of characters.
    /// </summary>
    internal static int DecodeInto(ReadOnlySpan<byte> utf8, Span<char> chars) => Utf8.GetChars(utf8, chars);

    /// <summary>
    /// Whether <see cref="Get"/> would give text that is not empty or white space (<see cref="string.IsNullOrWhiteSpace"/>)
    /// for these bytes and <paramref name="maxChars"/>, without making it: what a validation that makes no strings asks of a
    /// required field.
    /// </summary>
    /// <remarks>
    /// Exactly that text is looked at: the bytes are decoded with <see cref="Get"/>'s own decoding (invalid UTF-8 as U+FFFD,
    /// which is not white space), a piece at a time, up to <paramref name="maxChars"/> characters, and a high surrogate that
    /// <see cref="Cut"/> would drop at the cut does not count. Most text starts with an ASCII letter and is answered by its first byte.
    /// </remarks>
    internal static bool HasNonWhiteSpace(ReadOnlySpan<byte> utf8, int maxChars)
    {
        if (utf8.IsEmpty || maxChars <= 0)
        {
            return false;
        }

        if (utf8[0] < 0x80 && !char.IsWhiteSpace((char)utf8[0]))
        {
            return true; // the first character, and it is kept whatever the cut (an ASCII character is never a surrogate)
        }

        Span<char> piece = stackalloc char[128];
        var decoded = 0; // characters of the text before this piece
        var rest = utf8;
        while (!rest.IsEmpty && decoded < maxChars)
        {
            // Decoding stops before a sequence whose characters do not fit, so no sequence (nor surrogate pair) is split.
            System.Text.Unicode.Utf8.ToUtf16(rest, piece, out var read, out var written, replaceInvalidSequences: true, isFinalBlock: true);
            for (var i = 0; i < written && decoded + i < maxChars; i++)
            {
                var c = piece[i];
                if (!char.IsWhiteSpace(c) && !(decoded + i == maxChars - 1 && char.IsHighSurrogate(c)))
                {
                    return true;
                }
            }

            decoded += written;
            rest = rest[read..];
        }

        return false;
    }

    internal static string Cut(string value, int maxChars) =>
        maxChars <= 0 ? "" : value.Length <= maxChars ? value : value[..(char.IsHighSurrogate(value[maxChars - 1]) ? maxChars - 1 : maxChars)];

    private readonly record struct Entry(int Hash, int KeyStart, int KeyLength, string Value, int Next);
}
