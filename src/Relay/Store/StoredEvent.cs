namespace Relay.Store;

/// <summary>An event as accepted: the original request, exactly, plus what the source kind learned from it.</summary>
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
    string? TraceParent = null);

/// <summary>An event to accept, with how long its dedupe key holds and the targets it is queued to.</summary>
internal sealed record NewEvent(StoredEvent Event, TimeSpan DedupeWindow, IReadOnlyList<string> Targets);

/// <summary>An event leased to one target's dispatcher.</summary>
/// <param name="LeaseDeadline">Identifies this claim; complete/fail only succeed while it still holds.</param>
/// <param name="Attempts">Attempts already made to this target before this one.</param>
/// <param name="TraceParent">W3C trace context of the ingest, so every delivery attempt joins the event's trace.</param>
internal sealed record ClaimedEvent(
    string Id,
    int Partition,
    long LeaseDeadline,
    string Source,
    string Type,
    string Method,
    string QueryString,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body,
    int Attempts,
    string? TraceParent = null);

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
