using Polly.CircuitBreaker;
using Relay.Configuration;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Dispatch;

/// <summary>
/// Keeps one <see cref="TargetDispatcher"/> per configured target, and follows config reloads: new targets start,
/// removed ones stop after their deliveries in flight finish, changed ones are replaced the same way.
/// </summary>
internal sealed class DispatchService(
    RelayConfigProvider configProvider,
    CircuitSettings circuit,
    LeaseSettings lease,
    EventStore store,
    QueueSignals signals,
    DeferredChecks checks,
    RelayMetrics metrics,
    MinuteCounters counters,
    ClusterReports reports,
    TimeProvider time,
    ILoggerFactory loggerFactory) : BackgroundService
{
    /// <summary>How long deliveries in flight may run on when their target is removed or the relay stops.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan CircuitReportInterval = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, TargetDispatcher> _dispatchers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _reconcile = new(1, 1);

    /// <summary>The running dispatchers (admin and health read their circuit state).</summary>
    public IReadOnlyDictionary<string, TargetDispatcher> Dispatchers
    {
        get
        {
            lock (_dispatchers)
            {
                return new Dictionary<string, TargetDispatcher>(_dispatchers);
            }
        }
    }

    /// <summary>The circuit breaker state of a target's dispatcher; null when no dispatcher runs for it (yet).</summary>
    public CircuitState? CircuitOf(string target) => Dispatchers.TryGetValue(target, out var dispatcher) ? dispatcher.Circuit : null;

    /// <summary>Tells this replica's dispatcher of a target that its pause flag changed; other replicas notice within a poll interval.</summary>
    public void PauseChanged(string target)
    {
        if (Dispatchers.TryGetValue(target, out var dispatcher))
        {
            dispatcher.PauseChanged();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await _reconcile.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await Task.WhenAll(Dispatchers.Values.Select(d => d.StopAsync(Grace))).ConfigureAwait(false);
            foreach (var dispatcher in Dispatchers.Values)
            {
                await dispatcher.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _reconcile.Release();
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.ObserveCircuits(() => Dispatchers.Select(d => KeyValuePair.Create(d.Key, d.Value.Circuit is CircuitState.Open or CircuitState.HalfOpen)));
        return Task.WhenAll(configProvider.FollowAsync(ReconcileAsync, stoppingToken), ReportCircuitsAsync(stoppingToken));
    }

    /// <summary>Every few seconds, this replica's circuit states go to the store, so every replica's console shows them all.</summary>
    private async Task ReportCircuitsAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CircuitReportInterval, time);
        do
        {
            try
            {
                await reports.ReportCircuitsAsync(Dispatchers.ToDictionary(d => d.Key, d => d.Value.CircuitName)).ConfigureAwait(false);
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                // The next report will do; the console shows this replica's circuits as unknown meanwhile.
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task ReconcileAsync(RelaySnapshot snapshot, CancellationToken stoppingToken)
    {
        var targets = snapshot.Config.Targets;
        await _reconcile.WaitAsync(stoppingToken).ConfigureAwait(false);
        try
        {
            foreach (var (id, dispatcher) in Dispatchers)
            {
                if (!targets.TryGetValue(id, out var target) || !SameDelivery(target, dispatcher.Target))
                {
                    await dispatcher.StopAsync(Grace).ConfigureAwait(false);
                    await dispatcher.DisposeAsync().ConfigureAwait(false);
                    lock (_dispatchers)
                    {
                        _dispatchers.Remove(id);
                    }
                }
            }

            foreach (var (id, target) in targets)
            {
                if (!Dispatchers.ContainsKey(id))
                {
                    var dispatcher = new TargetDispatcher(target, circuit, lease, store, signals, checks, metrics, counters, time, loggerFactory.CreateLogger($"Relay.Dispatch.Target.{id}"));
                    lock (_dispatchers)
                    {
                        _dispatchers[id] = dispatcher;
                    }

                    dispatcher.Start();
                }
            }
        }
        finally
        {
            _reconcile.Release();
        }
    }

    private static bool SameDelivery(TargetConfig a, TargetConfig b) =>
        a.Url == b.Url && a.Timeout == b.Timeout && a.Concurrency == b.Concurrency && a.SuccessBody == b.SuccessBody
        && a.OrderedByKey == b.OrderedByKey && a.BlockOnDeadLetter == b.BlockOnDeadLetter
        && a.Retry.Jitter == b.Retry.Jitter && a.Retry.Schedule.SequenceEqual(b.Retry.Schedule)
        && (a.Signing?.Key ?? []).AsSpan().SequenceEqual(b.Signing?.Key ?? []);
}
