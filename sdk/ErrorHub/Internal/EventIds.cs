using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace ErrorHub.Internal;

/// <summary>
/// Random (version 4) event ids, as <see cref="Guid.NewGuid"/> makes them, from the same cryptographic source, but
/// 32 at a time: on Linux every <see cref="Guid.NewGuid"/> is a read of <c>/dev/urandom</c>, a system call that cost
/// about a sixth of a 20-frame throw on the thread that captures (capture-pieces, docs/benchmarks.md §19).
/// Each thread keeps its own 512 bytes, so no lock and no id handed out twice.
/// </summary>
internal static class EventIds
{
    private const int IdsPerFill = 32;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_next;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Guid NewId()
    {
        var random = t_random;
        if (random is null || t_next >= IdsPerFill)
        {
            random ??= t_random = new byte[IdsPerFill * 16];
            RandomNumberGenerator.Fill(random);
            t_next = 0;
        }

        var bytes = random.AsSpan(t_next++ * 16, 16);
        // RFC 9562 version 4 (random) and variant 10xx, where Guid's little-endian layout keeps them (bytes 7 and 8).
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        var id = new Guid(bytes);
        bytes.Clear(); // an id handed out is not left behind for whoever reads this buffer next
        return id;
    }
}
