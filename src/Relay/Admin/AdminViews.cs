using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Admin;

// What the admin API returns. Times are ISO 8601 (UTC); absent values are left out.

internal sealed record EventListView(IReadOnlyList<EventSummaryView> Events, string? Next);

/// <param name="Targets">Target id → state (pending, in-flight, delivered, retrying, dead, purged, paused).</param>
internal sealed record EventSummaryView(string Id, string Source, string Type, DateTimeOffset ReceivedAt, IReadOnlyDictionary<string, string> Targets);

/// <param name="Query">The original query string, masked when present (it may carry a token).</param>
/// <param name="Body">UTF-8 text with URL query strings masked, or base64 when the body is not valid UTF-8.</param>
/// <param name="BodyEncoding"><c>utf-8</c> or <c>base64</c>.</param>
/// <param name="Attempts">Every delivery attempt, oldest first, all targets together.</param>
/// <param name="Routes">Each route of the source, in order, with whether it matched the event and, if not, why.</param>
internal sealed record EventView(
    string Id,
    string Source,
    string Type,
    IReadOnlyList<string> Tags,
    DateTimeOffset ReceivedAt,
    string Method,
    string Query,
    string? ContentType,
    IReadOnlyList<HeaderView> Headers,
    string Body,
    string BodyEncoding,
    IReadOnlyDictionary<string, TargetStateView> Targets,
    IReadOnlyList<AttemptView> Attempts,
    IReadOnlyList<RouteDecisionView> Routes);

/// <param name="Reason">matched, eventType (no events glob matched), tags (none of its tags), when (the condition was false),
/// whenFailed (the condition failed to evaluate; <paramref name="Detail"/> says how), unrouted (the source kept it unrouted).</param>
internal sealed record RouteDecisionView(string Target, bool Matched, string Reason, string? Detail);

internal sealed record HeaderView(string Name, string Value);

/// <param name="Attempts">Attempts since the event was accepted, or since its last replay or redrive.</param>
internal sealed record TargetStateView(string State, int Attempts, DateTimeOffset? NextAttemptAt, DateTimeOffset? DeliveredAt, DateTimeOffset? DeadAt, string? Reason);

internal sealed record AttemptView(string Target, int Attempt, DateTimeOffset At, int? Status, long DurationMs, string? Error);

internal sealed record ReplayRequest(IReadOnlyList<string>? Targets);

/// <param name="Targets">Target id → queued, already-queued (it was waiting anyway) or in-flight (being delivered now).</param>
internal sealed record ReplayView(string Id, IReadOnlyDictionary<string, string> Targets);

internal sealed record TargetListView(IReadOnlyList<TargetView> Targets);

/// <param name="Circuit">closed, open, half-open, or unknown while the target's dispatcher starts.</param>
internal sealed record TargetView(string Id, long Ready, long InFlight, long Retrying, long Dead, bool Paused, string Circuit);

internal sealed record DeadLetterListView(string Target, IReadOnlyList<DeadLetterView> DeadLetters, string? Next);

internal sealed record DeadLetterView(string Id, DateTimeOffset DeadAt, string? Source, string? Type, DateTimeOffset? ReceivedAt, int Attempts, string? Reason);

internal sealed record RedriveView(string Target, long Redriven);

/// <param name="Ids">Only these dead letters; all when absent.</param>
internal sealed record RedriveRequest(IReadOnlyList<string>? Ids);

/// <param name="From">ISO-8601, received at or after.</param>
/// <param name="To">ISO-8601, received before.</param>
internal sealed record RangeReplayRequest(string? From, string? To, bool DryRun);

/// <param name="Count">Events routed to the target and received in the range.</param>
/// <param name="Queued">Of those, how many were queued now (the others were waiting or in flight already); absent on a dry run.</param>
internal sealed record RangeReplayView(string Target, long Count, bool DryRun, long? Queued);

internal sealed record PurgeView(string Target, long Purged);

internal sealed record PauseView(string Target, bool Paused);

/// <param name="Blocked">Ordering keys held behind a dead letter (ordering: key with onDeadLetter: block), oldest first.</param>
internal sealed record BlockedKeyListView(string Target, IReadOnlyList<BlockedKeyView> Blocked);

/// <param name="Key">The ordering key (e.g. the signature request or envelope id).</param>
/// <param name="EventId">The dead letter holding the key: redrive it to deliver it first, or purge it to release the next event.</param>
/// <param name="Waiting">Events of the key queued behind it.</param>
internal sealed record BlockedKeyView(string Key, string EventId, DateTimeOffset Since, string? Reason, long Waiting);

internal sealed record OrphanListView(IReadOnlyList<OrphanView> Orphans);

/// <summary>A removed target's queues: the same depths as a configured target's.</summary>
internal sealed record OrphanView(string Target, long Ready, long InFlight, long Retrying, long Dead);

/// <param name="To">The configured target that takes over the orphan's events.</param>
internal sealed record OrphanMoveRequest(string? To);

internal sealed record OrphanMoveView(string Target, string To, long Moved);

internal sealed record TestEventView(string Id, string Target);

/// <param name="WindowMinutes">How many minutes the counts, success rate and p95 cover, up to now.</param>
internal sealed record OverviewView(
    DateTimeOffset GeneratedAt,
    int WindowMinutes,
    IReadOnlyList<SourceOverviewView> Sources,
    IReadOnlyList<TargetOverviewView> Targets,
    IReadOnlyList<ConnectorOverviewView> Connectors);

/// <param name="Minutes">One entry per minute of the window, oldest first.</param>
internal sealed record SourceOverviewView(string Id, string Kind, IReadOnlyList<OutcomeCountsView> Minutes, OutcomeCountsView Totals);

/// <summary>Ingest outcomes of a source; bad_request also counts 405, 413 and 415 answers.</summary>
/// <param name="At">The minute's start; absent on totals.</param>
internal sealed record OutcomeCountsView(
    DateTimeOffset? At,
    long Accepted,
    long Duplicate,
    long Unauthorized,
    [property: JsonPropertyName("bad_request")] long BadRequest,
    long Unavailable,
    long Unrouted);

/// <param name="LagSeconds">How long the oldest event waiting in ready has waited since it became ready.</param>
/// <param name="Attempts">Delivery attempts in the window, all replicas.</param>
/// <param name="SuccessRate">Share of those attempts delivered; absent when there were none.</param>
/// <param name="P95Ms">95th percentile of attempt durations in the window (the upper bound of its bucket); absent when none.</param>
/// <param name="Circuit">The worst state any replica reports: open, half-open, closed; unknown when none reported yet.</param>
internal sealed record TargetOverviewView(
    string Id, long Ready, long InFlight, long Retrying, long Dead, double LagSeconds, long Attempts, double? SuccessRate, double? P95Ms, string Circuit, bool Paused);

/// <param name="Holder">The replica that holds the stream, when one does.</param>
internal sealed record ConnectorOverviewView(
    string Source, string Kind, bool Connected, string? Holder, DateTimeOffset? LastEventAt, long EventsReceived, long Reconnects, string? LastError);

internal sealed record SourceListView(IReadOnlyList<SourceView> Sources);

/// <param name="Path">Where the vendor calls; absent for a stream source, which Relay connects out to.</param>
/// <param name="LastHour">Ingest outcomes over the last hour, all replicas.</param>
internal sealed record SourceView(string Id, string Kind, string? Path, string DedupeWindow, IReadOnlyList<RouteView> Routes, OutcomeCountsView LastHour);

/// <param name="When">The route's condition as written in relay.yaml; absent when it has none.</param>
internal sealed record RouteView(string Target, IReadOnlyList<string> Events, IReadOnlyList<string> Tags, string? When);

/// <summary>The body of a test event: what it is, the test's own id (like a vendor's event id), for which target, when it was asked for.</summary>
internal sealed record TestEventBody(string Type, string Id, string Target, DateTimeOffset RequestedAt);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EventListView))]
[JsonSerializable(typeof(EventView))]
[JsonSerializable(typeof(ReplayRequest))]
[JsonSerializable(typeof(ReplayView))]
[JsonSerializable(typeof(TargetListView))]
[JsonSerializable(typeof(DeadLetterListView))]
[JsonSerializable(typeof(RedriveView))]
[JsonSerializable(typeof(RedriveRequest))]
[JsonSerializable(typeof(RangeReplayRequest))]
[JsonSerializable(typeof(RangeReplayView))]
[JsonSerializable(typeof(PurgeView))]
[JsonSerializable(typeof(PauseView))]
[JsonSerializable(typeof(BlockedKeyListView))]
[JsonSerializable(typeof(OrphanListView))]
[JsonSerializable(typeof(OrphanMoveRequest))]
[JsonSerializable(typeof(OrphanMoveView))]
[JsonSerializable(typeof(TestEventView))]
[JsonSerializable(typeof(TestEventBody))]
[JsonSerializable(typeof(OverviewView))]
[JsonSerializable(typeof(SourceListView))]
internal sealed partial class AdminJson : JsonSerializerContext
{
    /// <summary>
    /// Indented, and without escaping quotes and HTML characters as \u0022: the answers are JSON for operators and
    /// scripts, never embedded in a page, and bodies must stay readable.
    /// </summary>
    public static AdminJson Readable { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
