namespace ErrorHub.Storage;

/// <summary>
/// One process's hold on a named lease of the store, for work that must run in one place at a time (the
/// notification worker). Each round takes or renews the lease, and says until when the round may work.
/// A claim of a lease this process did not hold counts only from the next round on, once it has been taken
/// again: on ClickHouse, which has no conditional write, two claims made at the same instant can both read
/// back as won, but a round later both read the same latest claim and only its writer goes on. A round may
/// work for half the lease, so it is done before another process could take an unrenewed lease over.
/// </summary>
public sealed class LeaseHolder
{
    private readonly INotificationStore _store;
    private readonly string _name;
    private readonly string _holder;
    private readonly TimeSpan _duration;
    private bool _heldLastRound;

    public LeaseHolder(INotificationStore store, string name, string holder, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        (_store, _name, _holder, _duration) = (store, name, holder, duration);
    }

    /// <summary>
    /// Takes or renews the lease at <paramref name="now"/>; returns the time by which this round's work must
    /// stop, or null when this process must not work this round (another holds the lease, or the claim is new).
    /// </summary>
    public async Task<DateTimeOffset?> TryHoldAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        bool held;
        try
        {
            held = await _store.TryAcquireLeaseAsync(_name, _holder, now, _duration, cancellationToken);
        }
        catch
        {
            _heldLastRound = false; // unknown whether the renewal was written: claim afresh
            throw;
        }

        var confirmed = held && _heldLastRound;
        _heldLastRound = held;
        return confirmed ? now + _duration / 2 : null;
    }
}
