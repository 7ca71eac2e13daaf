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
    IReadOnlyList<AttemptView> Attempts);

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

internal sealed record PurgeView(string Target, long Purged);

internal sealed record PauseView(string Target, bool Paused);

internal sealed record TestEventView(string Id, string Target);

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
[JsonSerializable(typeof(PurgeView))]
[JsonSerializable(typeof(PauseView))]
[JsonSerializable(typeof(TestEventView))]
[JsonSerializable(typeof(TestEventBody))]
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
