using System.Diagnostics.Metrics;
using System.Diagnostics;
using ErrorHub.Ingestion.Http;
using ErrorHub.Ingestion.Quotas;
using ErrorHub.Ingestion.Writing;

namespace ErrorHub.Ingestion;

/// <summary>
/// What ingest counts, as .NET metrics (meter <c>ErrorHub.Ingest</c>) that any exporter can publish; the
/// server hosts publish them in Prometheus text on <c>/metrics</c> (docs/configuration.md). Labels are
/// bounded: reasons and outcomes are a fixed set, never anything a client chooses; project ids appear only on the
/// drop counters, and only for projects that passed the key check (so as many as there are projects).
/// </summary>
internal sealed class IngestMetrics
{

    private readonly Counter<long> _eventsAccepted;
    private readonly Counter<long> _batches;
    private readonly Histogram<double> _batchSeconds;
    private readonly Histogram<double> _batchGcPauseSeconds;
    private readonly Histogram<double> _journalWaitSeconds;
    private readonly Counter<long> _droppedBatches;
    private readonly Counter<long> _droppedEvents;

    public IngestMetrics(IMeterFactory meterFactory, StoreWriter writer, IngestAdmission admission, Journal.IngestJournal journal)
    {
        var meter = meterFactory.Create(IngestTelemetry.MeterName);
        _eventsAccepted = meter.CreateCounter<long>("errorhub.ingest.events.accepted", "{event}", "Events stored and answered 202.");
        _batches = meter.CreateCounter<long>("errorhub.ingest.batches", "{batch}", "Batches answered, by outcome: accepted or the reason they were not.");
        _batchSeconds = meter.CreateHistogram(
            "errorhub.ingest.batch.duration",
            "s",
            "Time from a batch's arrival to its answer, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        // What a batch's answer time can be laid against (docs/benchmarks.md "journalgc"): the runtime's collections that paused
        // it, and, with the journal, its wait for the group's write and fsync as the request saw it (the queue, the fsync, its turn back).
        _batchGcPauseSeconds = meter.CreateHistogram(
            "errorhub.ingest.batch.gc_pause",
            "s",
            "Garbage-collection pause time that passed while a batch accepted was being answered.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
        _journalWaitSeconds = meter.CreateHistogram(
            "errorhub.ingest.journal.wait.duration",
            "s",
            "Time from a batch's append to the ingest journal until the request continued after its fsync.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
        var journalAppendSeconds = meter.CreateHistogram(
            "errorhub.ingest.journal.append.duration",
            "s",
            "Time of each ingest journal write and its fsync, which every batch waiting for its 202 shares.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
        journal.AppendTimed = elapsed => journalAppendSeconds.Record(elapsed.TotalSeconds);
        _droppedBatches = meter.CreateCounter<long>(
            "errorhub.ingest.dropped.batches", "{batch}", "Batches of a known project refused, by project_id and reason (rate_limit, spike_protection, invalid, too_large).");
        _droppedEvents = meter.CreateCounter<long>(
            "errorhub.ingest.dropped.events", "{event}", "Events of a known project refused, by project_id and reason; events of batches refused before decoding are not counted here.");
        meter.CreateObservableCounter("errorhub.ingest.store.failures", () => writer.FailedInserts, "{insert}", "Inserts the store refused or failed (their batches answered 503).");
        meter.CreateObservableGauge("errorhub.ingest.queue.events", () => writer.PendingEvents, "{event}", "Events waiting for the group-commit writer.");
        meter.CreateObservableGauge("errorhub.ingest.inflight.bytes", () => admission.InFlight, "By", "Decompressed bytes of the batches being decoded, grouped and stored.");
        meter.CreateObservableGauge("errorhub.ingest.journal.events", () => journal.PendingEvents, "{event}", "Events accepted into the ingest journal and not yet in the store.");
        meter.CreateObservableGauge("errorhub.ingest.journal.bytes", () => journal.Bytes, "By", "Bytes of the ingest journal's segment files.");
        meter.CreateObservableCounter("errorhub.ingest.journal.insert.failures", () => journal.FailedInserts, "{insert}", "Inserts of journaled events the store refused or failed (retried with back-off).");
        meter.CreateObservableCounter("errorhub.ingest.journal.skipped", () => journal.SkippedRecords, "{batch}", "Journaled batches not stored: damaged in the files, or no longer valid when replayed.");
    }

    public void Answered(IngestOutcome outcome, int acceptedEvents, TimeSpan elapsed, TimeSpan gcPause)
    {
        var tag = new KeyValuePair<string, object?>("outcome", Name(outcome));
        _batches.Add(1, tag);
        _batchSeconds.Record(elapsed.TotalSeconds, tag);
        if (acceptedEvents > 0)
        {
            _eventsAccepted.Add(acceptedEvents);
            _batchGcPauseSeconds.Record(gcPause.TotalSeconds);
        }
    }

    /// <summary>A journaled batch's request continued after its record was fsynced, <paramref name="elapsed"/> after it was appended.</summary>
    public void JournalWaited(TimeSpan elapsed) => _journalWaitSeconds.Record(elapsed.TotalSeconds);

    /// <summary>A batch of a project that passed the key check was refused (so project ids here are only real projects').</summary>
    public void Dropped(int projectId, DropReason reason, int events)
    {
        var tags = new TagList
        {
            { "project_id", projectId },
            { "reason", DropReasons.Name(reason) },
        };
        _droppedBatches.Add(1, tags);
        if (events > 0)
        {
            _droppedEvents.Add(events, tags);
        }
    }

    /// <summary>An SDK reported events it dropped before sending, for a reason the server knows.</summary>
    public void DroppedBySdk(int projectId, string knownReason, long events)
    {
        var tags = new TagList
        {
            { "project_id", projectId },
            { "reason", SdkDropReasons.Stored(knownReason) },
        };
        _droppedEvents.Add(events, tags);
    }

    private static string Name(IngestOutcome outcome) => outcome switch
    {
        IngestOutcome.Accepted => "accepted",
        IngestOutcome.InvalidProjectId => "invalid_project_id",
        IngestOutcome.Unauthorized => "unauthorized",
        IngestOutcome.UnsupportedMedia => "unsupported_media",
        IngestOutcome.TooLarge => "too_large",
        IngestOutcome.Invalid => "invalid",
        IngestOutcome.Busy => "busy",
        IngestOutcome.StoreUnavailable => "store_unavailable",
        IngestOutcome.StoreTimeout => "store_timeout",
        IngestOutcome.ClientGone => "client_gone",
        IngestOutcome.RateLimited => "rate_limited",
        _ => "other",
    };
}

/// <summary>The names a host needs to export ingest's telemetry.</summary>
public static class IngestTelemetry
{
    /// <summary>The meter of ingest's counters, histograms and gauges (instruments named <c>errorhub.ingest.*</c>).</summary>
    public const string MeterName = "ErrorHub.Ingest";
}

/// <summary>How ingest answered a batch: the outcome label of its metrics.</summary>
internal enum IngestOutcome
{
    Accepted,
    InvalidProjectId,
    Unauthorized,
    UnsupportedMedia,
    TooLarge,
    Invalid,
    Busy,
    StoreUnavailable,
    StoreTimeout,
    ClientGone,
    RateLimited,
}
