using System.Diagnostics;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Ingress;

/// <summary>What became of one webhook request or one streamed message: the <c>outcome</c> tag of its metric and trace.</summary>
internal enum IngestOutcome
{
    Accepted,
    Duplicate,

    /// <summary>Stored and acked, but no route matched, so it goes nowhere.</summary>
    Unrouted,
    Unauthorized,
    BadRequest,
    UnsupportedMediaType,
    MethodNotAllowed,
    TooLarge,

    /// <summary>The client went away or sent too slowly; nobody was answered.</summary>
    Aborted,

    /// <summary>The store could not be reached; the vendor was asked to retry (or the connector retries itself).</summary>
    Unavailable,

    /// <summary>
    /// Ingress was full (every turn taken and the queue full, <see cref="IngressAdmission"/>, or the body budget spent,
    /// <see cref="IngressBodyBudget"/>): answered 503 before the store was touched; the vendor retries.
    /// </summary>
    Overloaded,

    /// <summary>
    /// No turn came while the request could still be acked within <c>ingress.ackBudget</c> (<see cref="IngressAdmission"/>):
    /// answered 503 before the store was touched; the vendor retries.
    /// </summary>
    Late,
}

/// <summary>
/// One ingest, observed the same way whichever way the event came (webhook or stream): a <c>relay.ingest</c> span for the
/// event's trace, then one count and duration in <c>relay.ingress.requests</c> / <c>relay.ingress.ack_duration</c>, and
/// one count in the store's per-minute counts for the console.
/// </summary>
internal sealed class IngestSpan : IDisposable
{
    private readonly RelayMetrics _metrics;
    private readonly MinuteCounters _counters;
    private readonly string _source;
    private readonly Activity? _activity;
    private readonly long _started = Stopwatch.GetTimestamp();

    public IngestSpan(RelayMetrics metrics, MinuteCounters counters, string source, ActivityKind kind)
    {
        _metrics = metrics;
        _counters = counters;
        _source = source;
        _activity = RelayMetrics.ActivitySource.StartActivity("relay.ingest", kind);
        _activity?.SetTag("relay.source", source);
    }

    /// <summary>Records the outcome on the span and in the metrics; call once.</summary>
    public void End(IngestOutcome outcome)
    {
        var name = MetricName(outcome);
        _activity?.SetTag("relay.outcome", name);
        _metrics.IngestRequest(_source, name, Stopwatch.GetElapsedTime(_started));
        _counters.CountIngest(_source, name);
    }

    public void Dispose() => _activity?.Dispose();

    /// <summary>The outcome as the metric and dashboards name it (snake case, stable).</summary>
    public static string MetricName(IngestOutcome outcome) => outcome switch
    {
        IngestOutcome.Accepted => "accepted",
        IngestOutcome.Duplicate => "duplicate",
        IngestOutcome.Unrouted => "unrouted",
        IngestOutcome.Unauthorized => "unauthorized",
        IngestOutcome.BadRequest => "bad_request",
        IngestOutcome.UnsupportedMediaType => "unsupported_media_type",
        IngestOutcome.MethodNotAllowed => "method_not_allowed",
        IngestOutcome.TooLarge => "too_large",
        IngestOutcome.Aborted => "aborted",
        IngestOutcome.Unavailable => "unavailable",
        IngestOutcome.Overloaded => "overloaded",
        IngestOutcome.Late => "late",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };
}
