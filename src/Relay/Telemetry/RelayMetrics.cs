using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Relay.Store;

namespace Relay.Telemetry;

/// <summary>Relay's instruments, named <c>relay.&lt;stage&gt;.&lt;thing&gt;</c>, created from <see cref="IMeterFactory"/>.</summary>
internal sealed class RelayMetrics
{
    public const string MeterName = "Relay";

    // The exporters' default buckets (0, 5, 10, 25 ... 10000) suit milliseconds; in seconds they would put every ack
    // in one bucket. These span a 1 ms ack to a 30 s delivery timeout.
    private static readonly InstrumentAdvice<double> SecondsBuckets = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    };

    public static readonly ActivitySource ActivitySource = new("Relay");

    private readonly Counter<long> _ingestRequests;
    private readonly Histogram<double> _ackDuration;
    private readonly Counter<long> _deliveryAttempts;
    private readonly Histogram<double> _deliveryDuration;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _dispatchErrors;
    private readonly Counter<long> _connectorReconnects;
    private readonly Counter<long> _connectionsOpened;
    private readonly Counter<long> _routeConditionFailures;
    private readonly ConcurrentDictionary<string, int> _connectorConnected = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, TargetCounts> _queueDepths = new Dictionary<string, TargetCounts>();
    private IReadOnlyDictionary<string, TimeSpan> _queueLags = new Dictionary<string, TimeSpan>();
    private Func<IEnumerable<KeyValuePair<string, bool>>> _circuitsOpen = static () => [];
    private Func<(long Admitted, long Queued)> _ingressAdmission = static () => (0, 0);
    private Func<long> _ingressBuffered = static () => 0;
    private IReadOnlyDictionary<string, int> _health = new Dictionary<string, int>();

    public RelayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _ingestRequests = meter.CreateCounter<long>("relay.ingress.requests", "{request}", "Webhook requests by source and outcome.");
        _ackDuration = meter.CreateHistogram<double>("relay.ingress.ack_duration", "s", "Time from request start to the vendor's ack.", advice: SecondsBuckets);
        _deliveryAttempts = meter.CreateCounter<long>("relay.dispatch.attempts", "{attempt}", "Delivery attempts by target and outcome.");
        _deliveryDuration = meter.CreateHistogram<double>("relay.dispatch.duration", "s", "Duration of one delivery attempt.", advice: SecondsBuckets);
        _deadLettered = meter.CreateCounter<long>("relay.dispatch.dead_lettered", "{event}", "Events moved to a target's dead letters.");
        _dispatchErrors = meter.CreateCounter<long>("relay.dispatch.errors", "{error}", "Unexpected errors in a target's dispatcher (bugs); each is logged at Error and the dispatcher goes on.");
        _connectionsOpened = meter.CreateCounter<long>("relay.dispatch.connections_opened", "{connection}", "TCP connections opened to a target; with keep-alive working it stays near the target's concurrency.");
        _routeConditionFailures = meter.CreateCounter<long>("relay.route.condition_failures", "{event}", "Events a route's when condition failed to evaluate for (a missing field, a type error, a cost cap), so the route did not match; by source and target.");
        // Named for the first connector kind (an SSE stream); the names are kept because dashboards and alerts use them.
        _connectorReconnects = meter.CreateCounter<long>("relay.sse.reconnects", "{reconnect}", "Times a stream connector reopened its stream after it ended or failed.");
        meter.CreateObservableGauge("relay.ingress.in_flight", ObserveIngressAdmission, "{request}", "Webhook requests admitted and in progress (state admitted), and waiting for a turn (state queued), against ingress.maxConcurrentRequests and ingress.queueLimit.");
        meter.CreateObservableGauge("relay.ingress.buffered", () => Volatile.Read(ref _ingressBuffered)(), "By", "Webhook body bytes held by requests being read, waiting for a turn or in progress, against ingress.maxBufferedBytes.");
        meter.CreateObservableGauge("relay.sse.connected", ObserveConnectorConnected, "{stream}", "1 while this replica has the source's stream open, else 0.");
        meter.CreateObservableGauge("relay.queue.depth", ObserveQueueDepths, "{event}", "Events per target and state (ready, in_flight, retrying, dead), sampled from the store.");
        meter.CreateObservableGauge("relay.queue.lag", ObserveQueueLags, "s", "Per target, how long the oldest event waiting in ready has waited since it became ready, sampled from the store.");
        meter.CreateObservableGauge("relay.health.status", ObserveHealth, "{status}", "Per readiness check (store, config, connectors): 2 healthy, 1 degraded, 0 unhealthy, as last run.");
        meter.CreateObservableGauge("relay.dispatch.circuit_open", ObserveCircuits, "{circuit}", "1 while the target's circuit breaker is open or half-open on this replica, else 0.");
    }

    /// <summary>
    /// Makes the counters that alerts take an increase() of start at 0 for every configured source and target, so the
    /// first dead letter or the first 503 after a start is an increase Prometheus can see.
    /// </summary>
    public void AnnounceSeries(IEnumerable<string> sources, IEnumerable<string> targets)
    {
        foreach (var source in sources)
        {
            _ingestRequests.Add(0, new TagList { { "source", source }, { "outcome", "unavailable" } });
        }

        foreach (var target in targets)
        {
            _deadLettered.Add(0, new KeyValuePair<string, object?>("target", target));
        }
    }

    public void IngestRequest(string source, string outcome, TimeSpan elapsed)
    {
        var tags = new TagList { { "source", source }, { "outcome", outcome } };
        _ingestRequests.Add(1, tags);
        _ackDuration.Record(elapsed.TotalSeconds, tags);
    }

    public void DeliveryAttempt(string target, string outcome, TimeSpan elapsed)
    {
        var tags = new TagList { { "target", target }, { "outcome", outcome } };
        _deliveryAttempts.Add(1, tags);
        _deliveryDuration.Record(elapsed.TotalSeconds, tags);
    }

    public void RouteConditionFailed(string source, string target) =>
        _routeConditionFailures.Add(1, new TagList { { "source", source }, { "target", target } });

    public void DispatchError(string target) => _dispatchErrors.Add(1, new KeyValuePair<string, object?>("target", target));

    public void DeadLettered(string target) => _deadLettered.Add(1, new KeyValuePair<string, object?>("target", target));

    public void ConnectorConnected(string source, bool connected) => _connectorConnected[source] = connected ? 1 : 0;

    /// <summary>The source's connector is gone (removed from the config): its gauge stops reporting.</summary>
    public void ConnectorRemoved(string source) => _connectorConnected.TryRemove(source, out _);

    public void ConnectionOpened(string target) => _connectionsOpened.Add(1, new KeyValuePair<string, object?>("target", target));

    public void ConnectorReconnect(string source) => _connectorReconnects.Add(1, new KeyValuePair<string, object?>("source", source));

    public void SetQueueDepths(IReadOnlyDictionary<string, TargetCounts> depths) => Volatile.Write(ref _queueDepths, depths);

    public void SetQueueLags(IReadOnlyDictionary<string, TimeSpan> lags) => Volatile.Write(ref _queueLags, lags);

    /// <summary>Where the circuit gauge reads each target's breaker from: the running dispatchers.</summary>
    public void ObserveCircuits(Func<IEnumerable<KeyValuePair<string, bool>>> open) => Volatile.Write(ref _circuitsOpen, open);

    /// <summary>The status of each readiness check as last run: 2 healthy, 1 degraded, 0 unhealthy.</summary>
    public void SetHealth(IReadOnlyDictionary<string, int> statuses) => Volatile.Write(ref _health, statuses);

    private IEnumerable<Measurement<int>> ObserveHealth() =>
        Volatile.Read(ref _health).Select(static h => new Measurement<int>(h.Value, new KeyValuePair<string, object?>("check", h.Key)));

    /// <summary>Where the in-flight gauge reads the ingress admission's load from.</summary>
    public void ObserveIngressAdmission(Func<(long Admitted, long Queued)> load) => Volatile.Write(ref _ingressAdmission, load);

    /// <summary>Where the buffered gauge reads the ingress body budget's use from.</summary>
    public void ObserveIngressBuffered(Func<long> held) => Volatile.Write(ref _ingressBuffered, held);

    private IEnumerable<Measurement<long>> ObserveIngressAdmission()
    {
        var (admitted, queued) = Volatile.Read(ref _ingressAdmission)();
        return [new(admitted, new KeyValuePair<string, object?>("state", "admitted")), new(queued, new KeyValuePair<string, object?>("state", "queued"))];
    }

    private IEnumerable<Measurement<double>> ObserveQueueLags() =>
        Volatile.Read(ref _queueLags).Select(static l => new Measurement<double>(l.Value.TotalSeconds, new KeyValuePair<string, object?>("target", l.Key)));

    private IEnumerable<Measurement<int>> ObserveCircuits() =>
        Volatile.Read(ref _circuitsOpen)().Select(static c => new Measurement<int>(c.Value ? 1 : 0, new KeyValuePair<string, object?>("target", c.Key)));

    private IEnumerable<Measurement<int>> ObserveConnectorConnected() =>
        _connectorConnected.Select(static s => new Measurement<int>(s.Value, new KeyValuePair<string, object?>("source", s.Key)));

    private IEnumerable<Measurement<long>> ObserveQueueDepths()
    {
        foreach (var (target, counts) in Volatile.Read(ref _queueDepths))
        {
            yield return new(counts.Ready, new("target", target), new("state", "ready"));
            yield return new(counts.InFlight, new("target", target), new("state", "in_flight"));
            yield return new(counts.Retrying, new("target", target), new("state", "retrying"));
            yield return new(counts.Dead, new("target", target), new("state", "dead"));
        }
    }
}
