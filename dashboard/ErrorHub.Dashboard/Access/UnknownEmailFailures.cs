using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// Failed sign-ins of emails that have no account, counted like an account's so that the lockout answer does not
/// tell which emails exist. Kept in memory in a fixed number of slots (a hash of the email, never the email), so
/// guessing at millions of emails cannot grow it: an email whose slot another one took starts counting again,
/// which only gives an unknown email a few more refusals.
/// </summary>
internal sealed class UnknownEmailFailures
{
    private const int Slots = 4096;

    private readonly Slot[] _slots = new Slot[Slots];
    private readonly Lock _lock = new();

    public DateTimeOffset? LockedUntil(string normalizedEmail, DateTimeOffset now)
    {
        var tag = Tag(normalizedEmail);
        lock (_lock)
        {
            ref var slot = ref _slots[(int)(tag % Slots)];
            return slot.Tag == tag && slot.LockedUntil > now ? slot.LockedUntil : null;
        }
    }

    /// <summary>Counts a failure; the lock's end when this one locks the email, as for an account.</summary>
    public DateTimeOffset? Fail(string normalizedEmail, DateTimeOffset now, int maxFailures, TimeSpan lockout)
    {
        var tag = Tag(normalizedEmail);
        lock (_lock)
        {
            ref var slot = ref _slots[(int)(tag % Slots)];
            if (slot.Tag != tag)
            {
                slot = new Slot { Tag = tag };
            }

            slot.Failures++;
            if (slot.Failures < maxFailures)
            {
                return null;
            }

            slot.Failures = 0;
            slot.LockedUntil = now + lockout;
            return slot.LockedUntil;
        }
    }

    private static ulong Tag(string normalizedEmail) =>
        BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(normalizedEmail)));

    private struct Slot
    {
        public ulong Tag;
        public int Failures;
        public DateTimeOffset LockedUntil;
    }
}
