namespace Relay.Store;

/// <summary>An event as accepted: the original request, exactly, plus what the source kind learned from it.</summary>
/// <param name="Routes">Each route's decision about the event, as JSON the routing stage writes and reads (kept for operators).</param>
internal sealed record StoredEvent(
    string Id,
    int Partition,
    string Source,
    string Type,
    IReadOnlyList<string> Tags,
    string DedupeKey,
    string Method,
    string QueryString,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body,
    DateTimeOffset ReceivedAt,
    string? TraceParent = null,
    string? OrderingKey = null,
    string? Routes = null);

/// <summary>An event to accept, with how long its dedupe key holds and the targets it is queued to.</summary>
/// <param name="OrderedTargets">Those of <paramref name="Targets"/> that deliver the events of one ordering key in order.</param>
internal sealed record NewEvent(StoredEvent Event, TimeSpan DedupeWindow, IReadOnlyList<string> Targets, IReadOnlyCollection<string>? OrderedTargets = null);

/// <summary>
/// The lease a dispatcher holds on a claimed event: its deadline on the store's clock, which identifies the claim
/// (complete, fail and extend only succeed while it still holds) and moves later each time the lease is extended.
/// </summary>
internal sealed class DeliveryLease(long deadline)
{
    private long _deadline = deadline;

    public long Deadline
    {
        get => Volatile.Read(ref _deadline);
        set => Volatile.Write(ref _deadline, value);
    }
}

/// <summary>An event leased to one target's dispatcher.</summary>
/// <param name="Attempts">Attempts already made to this target before this one.</param>
/// <param name="TraceParent">W3C trace context of the ingest, so every delivery attempt joins the event's trace.</param>
internal sealed record ClaimedEvent(
    string Id,
    int Partition,
    DeliveryLease Lease,
    string Source,
    string Type,
    string Method,
    string QueryString,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body,
    int Attempts,
    string? TraceParent = null,
    string? OrderingKey = null);

/// <summary>One delivery attempt, kept in the event's history for the admin API.</summary>
internal sealed record AttemptRecord(string Target, int Attempt, long At, int? Status, long DurationMs, string? Error);

internal enum AcceptOutcome
{
    Accepted,
    Duplicate,
}

internal readonly record struct AcceptResult(AcceptOutcome Outcome, string EventId);

/// <summary>Events of one target in each queue state.</summary>
internal readonly record struct TargetCounts(long Ready, long InFlight, long Retrying, long Dead);

/// <summary>An ordering key held behind its dead letter <paramref name="EventId"/>, with <paramref name="Waiting"/> events of the key behind it.</summary>
internal sealed record BlockedKey(string OrderingKey, string EventId, DateTimeOffset Since, string? Reason, long Waiting);
