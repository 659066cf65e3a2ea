namespace ErrorHub.Ingestion;

/// <summary>
/// The durable ingest journal (<c>ErrorHub:Ingest:Journal</c>), for the ClickHouse stores: a batch is answered 202
/// once it is appended and fsynced to a local journal, and a background flusher moves it into the store in large
/// inserts. The embedded SQLite store ignores it (its own commit is a local fsync). docs/architecture.md says why.
/// </summary>
public sealed class IngestJournalOptions
{
    /// <summary>Whether ingest on a ClickHouse store answers once a batch is journaled rather than once it is stored. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The journal's directory; a relative path is under <c>ErrorHub:DataDirectory</c>. Default <c>journal</c> there.
    /// One process owns a directory: a second one on the same directory fails at start. Keep it on a persistent volume.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>Bytes the journal may hold on disk (what is not yet in the store, by whole segments): past it, 503 with Retry-After. Default 1 GiB.</summary>
    public long MaxBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>A segment file is closed and a new one started past this size; a segment whose every batch is stored is deleted. Default 64 MiB.</summary>
    public long SegmentBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Events accepted and kept in memory until they are stored: past it, 503 with Retry-After. Default 50,000.</summary>
    public int MaxPendingEvents { get; set; } = 50_000;

    /// <summary>
    /// The most events one insert carries (whole batches; one larger batch goes alone). Default 10,000: an insert's rows are
    /// in memory until it ends, on ClickHouse as encoded bytes in pooled buffers (a batch's event objects only while it is
    /// prepared), so with 10,000 the ingest process peaked at 379-409 MB under overload where holding the events themselves
    /// took it past 530 MB; ClickHouse then spends about a quarter less CPU per event than with 5,000 (benchmarks.md, "intake13").
    /// </summary>
    public int MaxEventsPerInsert { get; set; } = 10_000;

    /// <summary>
    /// The most bytes of encoded rows one insert carries on ClickHouse (whole batches; the batch that crosses it is the
    /// insert's last, the rest start the next insert, in order; one larger batch goes alone), beside
    /// <see cref="MaxEventsPerInsert"/>: an insert ends at whichever comes first. Default 64 MiB: an insert's rows are in
    /// ingest's memory until it ends (two inserts run at once), and ClickHouse parses each into buffers of about the same
    /// size, so large events (tens of KB each) no longer make inserts of hundreds of MB; events of a few KB, as usual,
    /// reach <see cref="MaxEventsPerInsert"/> first. A lower bound is not a way to speed intake up: at 16 MiB (about 5,900
    /// events of 2.9 KB) ClickHouse spent more CPU per event on the extra parts' merges than it saved in the insert
    /// (benchmarks.md, "intake27").
    /// </summary>
    public long MaxBytesPerInsert { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Inserts the flusher runs at once. Default 2: ClickHouse 18.16 runs one insert (the events table and each of its views)
    /// on about one core, so with one insert at a time a 2-core server stays half idle while a backlog waits. A second insert
    /// starts only while the journal holds a backlog (at least half of <see cref="MaxEventsPerInsert"/> waiting), so a light
    /// flow still goes in one insert at a time, each as large as what gathered; and never with an event id the running one carries.
    /// 1 is the flusher of before (benchmarks.md, "ingest11").
    /// </summary>
    public int MaxConcurrentInserts { get; set; } = 2;

    /// <summary>
    /// The least time from the start of one insert to the start of the next: a longer one makes fewer, larger inserts
    /// (ClickHouse pays a fixed share per insert) at the price of a longer wait until events are visible, also under a
    /// backlog. Default 0: the next insert starts as soon as the previous one ended and enough waits (a light flow first
    /// lingers, <see cref="InsertLinger"/>), carrying all that gathered meanwhile.
    /// </summary>
    public TimeSpan MinTimeBetweenInserts { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How long a light flow's batches may wait for more to join their insert, counted from when the oldest of them was
    /// journaled. Default 1 s. ClickHouse pays per insert (each makes a part in the events table and in every view, which
    /// background merges then rewrite), and with no wait a light flow went in inserts of a few hundred events whose merges
    /// cost ClickHouse several times the insert itself (docs/benchmarks.md, "intake12" and "intake17"). The wait ends at
    /// once when half an insert is waiting (a backlog, or a full insert), when ingest stops, and never holds more than
    /// that in memory: waiting batches are kept as sent, nothing is prepared while they wait. A 202 still means journaled
    /// and fsynced; what grows is the time until an event is visible, by up to this. 0 is the flusher of before.
    /// </summary>
    public TimeSpan InsertLinger { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a graceful stop keeps inserting what the journal holds before it leaves the rest for the next start. Default 20 s.</summary>
    public TimeSpan StopFlushTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>What is wrong with these settings, one message per setting, each naming its key under <paramref name="section"/>.</summary>
    public IReadOnlyList<string> Validate(string section = "ErrorHub:Ingest:Journal")
    {
        var problems = new List<string>();
        void Check(bool ok, string key, string rule, object value)
        {
            if (!ok)
            {
                problems.Add(FormattableString.Invariant($"{section}:{key} must be {rule}, not {value}."));
            }
        }

        const long MiB = 1024 * 1024;
        Check(Directory is null || (Directory.Trim().Length > 0 && Directory.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) < 0), nameof(Directory), "a usable directory path", Directory ?? "");
        Check(SegmentBytes is >= 64 * 1024 and <= 1024 * MiB, nameof(SegmentBytes), "between 65536 and 1073741824 bytes", SegmentBytes);
        Check(MaxBytes >= 4 * SegmentBytes, nameof(MaxBytes), "at least 4 times SegmentBytes", MaxBytes);
        Check(MaxPendingEvents is >= 1 and <= 10_000_000, nameof(MaxPendingEvents), "between 1 and 10000000", MaxPendingEvents);
        Check(MaxEventsPerInsert is >= 1 and <= 1_000_000, nameof(MaxEventsPerInsert), "between 1 and 1000000", MaxEventsPerInsert);
        Check(MaxBytesPerInsert is >= 64 * 1024 and <= 1024 * MiB, nameof(MaxBytesPerInsert), "between 65536 and 1073741824 bytes", MaxBytesPerInsert);
        Check(MaxConcurrentInserts is >= 1 and <= 4, nameof(MaxConcurrentInserts), "between 1 and 4", MaxConcurrentInserts);
        Check(MinTimeBetweenInserts >= TimeSpan.Zero && MinTimeBetweenInserts <= TimeSpan.FromMinutes(1), nameof(MinTimeBetweenInserts), "between 00:00:00 and 00:01:00", MinTimeBetweenInserts);
        Check(InsertLinger >= TimeSpan.Zero && InsertLinger <= TimeSpan.FromMinutes(1), nameof(InsertLinger), "between 00:00:00 and 00:01:00", InsertLinger);
        Check(StopFlushTimeout >= TimeSpan.Zero && StopFlushTimeout <= TimeSpan.FromMinutes(10), nameof(StopFlushTimeout), "between 00:00:00 and 00:10:00", StopFlushTimeout);
        return problems;
    }
}
