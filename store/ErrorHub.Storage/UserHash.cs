using System.Text;

namespace ErrorHub.Storage;

/// <summary>
/// A stable 64-bit hash of a user's key (FNV-1a over its UTF-8 bytes), used to count distinct users.
/// Computed here rather than in ClickHouse because 18.x cannot hash every type we would need, and so
/// that both stores count the same thing. Zero is reserved for "no user".
/// </summary>
internal static class UserHash
{
    private const ulong OffsetBasis = 0xcbf29ce484222325;
    private const ulong Prime = 0x100000001b3;

    public const ulong NoUser = 0;

    public static ulong Of(string? userKey)
    {
        if (string.IsNullOrEmpty(userKey))
        {
            return NoUser;
        }

        var hash = Fnv1a64(Encoding.UTF8.GetBytes(userKey));
        return hash == NoUser ? 1 : hash;
    }

    public static ulong Fnv1a64(ReadOnlySpan<byte> bytes)
    {
        var hash = OffsetBasis;
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= Prime;
        }

        return hash;
    }
}
