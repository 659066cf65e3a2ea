using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// Where a sign-in comes from, as the per-address limit counts it: an IPv4 address, or the /64 network of an IPv6
/// address (one subscriber's line or one host's range is usually a whole /64, so counting single IPv6 addresses
/// would give one attacker billions of fresh counts).
/// </summary>
internal readonly record struct ClientAddress(ulong Bits, bool IsIPv6)
{
    /// <summary>The address counted for <paramref name="address"/>; null when there is none (a Unix socket, an in-memory server).</summary>
    public static ClientAddress? Of(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out _))
        {
            return null;
        }

        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => new ClientAddress(BinaryPrimitives.ReadUInt32BigEndian(bytes), IsIPv6: false),
            AddressFamily.InterNetworkV6 => new ClientAddress(BinaryPrimitives.ReadUInt64BigEndian(bytes), IsIPv6: true),
            _ => null,
        };
    }

    /// <summary>Loopback or a private network: most likely a reverse proxy's address rather than a client's.</summary>
    public bool IsLoopbackOrPrivate => IsIPv6
        ? Bits == 0 || (Bits >> 57) == 0x7E // ::1's /64, and fc00::/7 (unique local)
        : (Bits >> 24) is 127 or 10 || (Bits >> 20) == 0xAC1 || (Bits >> 16) == 0xC0A8; // 127/8, 10/8, 172.16/12, 192.168/16

    public override string ToString()
    {
        if (!IsIPv6)
        {
            Span<byte> four = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(four, (uint)Bits);
            return new IPAddress(four).ToString();
        }

        Span<byte> sixteen = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(sixteen, Bits);
        return new IPAddress(sixteen) + "/64";
    }
}

/// <summary>
/// Failed sign-ins counted per client address, whatever the email, so that trying a few common passwords on many
/// emails from one place is stopped even though no single account sees enough failures to lock. Once an address has
/// the limit's number of failures within the window, it may not try again (the password is not even checked) for the
/// window's length. Successful sign-ins are not failures and reset nothing: an attacker with an account of their own
/// could otherwise spray between their own sign-ins. A sign-in under way holds its place in the count until its answer
/// is known, so parallel guesses from one address cannot slip past the limit.
/// </summary>
/// <remarks>
/// Kept in memory in a fixed table (the size never depends on how many addresses try), not in
/// System.Threading.RateLimiting: a <c>PartitionedRateLimiter</c> keeps one limiter per address until it has been idle,
/// so a flood of addresses grows it for a whole window; its limiters count every acquired permit where only failures
/// should count (an answer is known after the permit is taken); and they keep time on their own clock, not on the
/// injected <see cref="TimeProvider"/>. The table is split in small sets chosen by a per-process random hash, so no one
/// can aim their addresses at another's set; in a full set the entry with the least to lose is replaced (an idle one, then
/// the fewest failures), so an address that reached the limit is forgotten early only when every entry of its set did too.
/// </remarks>
internal sealed class SignInFailuresByAddress
{
    private const int Ways = 4;
    private const int Sets = 2048;

    private readonly Slot[] _slots = new Slot[Sets * Ways];
    private readonly Lock _lock = new();

    /// <summary>
    /// Starts a sign-in from <paramref name="address"/>: false, with the time it may try again, when the address reached
    /// the limit. Otherwise <paramref name="attempt"/> is to be passed to <see cref="End"/> once the answer is known.
    /// Without an address or with <paramref name="limit"/> 0 every sign-in may go on and nothing is counted.
    /// </summary>
    public bool TryBegin(ClientAddress? address, DateTimeOffset now, int limit, TimeSpan window, out Attempt attempt, out DateTimeOffset retryAt)
    {
        attempt = Attempt.None;
        retryAt = default;
        if (address is not { } key || limit <= 0)
        {
            return true;
        }

        var ticks = now.UtcTicks;
        lock (_lock)
        {
            var index = Find(key, ticks);
            ref var slot = ref _slots[index];
            if (slot.BlockedUntil > ticks)
            {
                retryAt = new DateTimeOffset(slot.BlockedUntil, TimeSpan.Zero);
                return false;
            }

            if (slot.WindowEnds <= ticks)
            {
                slot.Failures = 0;
            }

            if (slot.Failures + slot.Pending >= limit)
            {
                // Only reached by many sign-ins from one address at the same moment: the ones under way may use up the rest.
                retryAt = new DateTimeOffset(slot.WindowEnds > ticks ? slot.WindowEnds : ticks + window.Ticks, TimeSpan.Zero);
                return false;
            }

            slot.Pending++;
            attempt = new Attempt(index, key);
            return true;
        }
    }

    /// <summary>Ends a sign-in that <see cref="TryBegin"/> let go on; when its failure made the address reach the limit, the time it may try again.</summary>
    public DateTimeOffset? End(Attempt attempt, bool failed, DateTimeOffset now, int limit, TimeSpan window)
    {
        if (attempt.Index < 0)
        {
            return null;
        }

        var ticks = now.UtcTicks;
        lock (_lock)
        {
            ref var slot = ref _slots[attempt.Index];
            if (!slot.Used || slot.Address != attempt.Address)
            {
                return null; // its set was full of addresses with more to lose, and another address took the entry meanwhile
            }

            slot.Pending = Math.Max(0, slot.Pending - 1);
            if (!failed)
            {
                return null;
            }

            if (slot.WindowEnds <= ticks)
            {
                slot.Failures = 0;
                slot.WindowEnds = ticks + window.Ticks;
            }

            slot.Failures++;
            if (slot.Failures < limit || slot.BlockedUntil > ticks)
            {
                return null;
            }

            // Counting starts afresh once the wait is over.
            slot.BlockedUntil = ticks + window.Ticks;
            slot.WindowEnds = slot.BlockedUntil;
            slot.Failures = 0;
            return new DateTimeOffset(slot.BlockedUntil, TimeSpan.Zero);
        }
    }

    private int Find(ClientAddress address, long ticks)
    {
        // HashCode's seed is random per process, and both halves of the bits go in whole (not folded to 32 bits first).
        var first = (int)((uint)HashCode.Combine((uint)address.Bits, (uint)(address.Bits >> 32), address.IsIPv6) % Sets) * Ways;
        var victim = first;
        var victimCost = long.MaxValue;
        for (var index = first; index < first + Ways; index++)
        {
            ref var slot = ref _slots[index];
            if (slot.Used && slot.Address == address)
            {
                return index;
            }

            var cost = Cost(slot, ticks);
            if (cost < victimCost)
            {
                victim = index;
                victimCost = cost;
            }
        }

        _slots[victim] = new Slot { Used = true, Address = address };
        return victim;
    }

    /// <summary>What forgetting an entry would give away: nothing for a free or stale one, then its failures, an answer under way, a wait.</summary>
    private static long Cost(in Slot slot, long ticks)
    {
        if (slot.BlockedUntil > ticks)
        {
            return (1L << 50) + Math.Min(slot.BlockedUntil - ticks, 1L << 48);
        }

        var failures = slot.WindowEnds > ticks ? slot.Failures : 0;
        return slot.Pending > 0 ? (1L << 40) + failures : failures;
    }

    /// <summary>A sign-in under way: its entry in the table, or none when it is not counted.</summary>
    public readonly record struct Attempt(int Index, ClientAddress Address)
    {
        public static Attempt None => new(-1, default);
    }

    private struct Slot
    {
        public bool Used;
        public ClientAddress Address;
        public int Failures;
        public int Pending;
        public long WindowEnds;
        public long BlockedUntil;
    }
}
