using System.Diagnostics;
using Polly;
using Polly.CircuitBreaker;
using Relay.Configuration;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Dispatch;

/// <summary>
/// Delivers one target's events: claims batches under a lease, sends up to <c>concurrency</c> at once, and settles
/// each (delivered, retry later, dead letter). A circuit breaker stops claiming while the target is down, so a dead
/// target costs one probe per break instead of a stream of timeouts. Each target has its own dispatcher, so one
/// failing target never delays another.
/// </summary>
internal sealed partial class TargetDispatcher : IAsyncDisposable
{
    /// <summary>How long an idle dispatcher waits before looking again (work from other replicas, promoted retries).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private const int MaxBatch = 32;

    private readonly EventStore _store;
    private readonly QueueSignals _signals;
    private readonly DeferredChecks _checks;
    private readonly RelayMetrics _metrics;
    private readonly MinuteCounters _counters;
    private readonly TimeSpan _lease;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DeliveryClient _client;
    private readonly ResiliencePipeline<DeliveryResult> _circuit;
    private readonly CircuitBreakerStateProvider _circuitState = new();
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _abortDeliveries = new();
    private readonly HashSet<Task> _inFlight = [];
    private Task _loop = Task.CompletedTask;
    private int _nextPartition;
    private long _probeAfterTicks;
    private bool _paused;
    private long _pauseReadAt;

    public TargetDispatcher(
        TargetConfig target,
        CircuitSettings circuit,
        LeaseSettings lease,
        EventStore store,
        QueueSignals signals,
        DeferredChecks checks,
        RelayMetrics metrics,
        MinuteCounters counters,
        TimeProvider time,
        ILogger logger)
    {
        _counters = counters;
        _lease = target.Timeout + lease.Margin;
        Target = target;
        _store = store;
        _signals = signals;
        _checks = checks;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _client = new DeliveryClient(target, time, () => metrics.ConnectionOpened(target.Id));
        _slots = new SemaphoreSlim(target.Concurrency, target.Concurrency);
        _circuit = new ResiliencePipelineBuilder<DeliveryResult> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<DeliveryResult>
            {
                FailureRatio = circuit.FailureRatio,
                MinimumThroughput = circuit.MinimumThroughput,
                SamplingDuration = circuit.SamplingDuration,
                BreakDuration = circuit.BreakDuration,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Result?.Outcome == DeliveryOutcome.Retry),
                StateProvider = _circuitState,
                OnOpened = args =>
                {
                    Volatile.Write(ref _probeAfterTicks, _time.GetUtcNow().Add(args.BreakDuration).UtcTicks);
                    return default;
                },
            })
            .Build();
    }

    public TargetConfig Target { get; }

    /// <summary>When the open circuit's break is over and the loop sends one event as the probe.</summary>
    private DateTimeOffset ProbeAt() => new(Volatile.Read(ref _probeAfterTicks), TimeSpan.Zero);

    public CircuitState Circuit => _circuitState.CircuitState;

    /// <summary>The circuit's state as the admin API and the console name it.</summary>
    public string CircuitName => Circuit switch
    {
        CircuitState.Closed => "closed",
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half-open",
        _ => "isolated",
    };

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>This replica just paused or resumed the target: read the flag again on the next turn instead of within a poll interval.</summary>
    public void PauseChanged() => Volatile.Write(ref _pauseReadAt, 0);

    /// <summary>Stops claiming and lets deliveries in flight finish; those still running after <paramref name="grace"/> are handed back.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        await _stopClaiming.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        Task[] pending;
        lock (_inFlight)
        {
            pending = [.. _inFlight];
        }

        var all = Task.WhenAll(pending);
        if (await Task.WhenAny(all, Task.Delay(grace, _time)).ConfigureAwait(false) != all)
        {
            await _abortDeliveries.CancelAsync().ConfigureAwait(false);
            await all.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _client.Dispose();
        _slots.Dispose();
        _stopClaiming.Dispose();
        _abortDeliveries.Dispose();
    }

    private async Task RunAsync()
    {
        var stopping = _stopClaiming.Token;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                // Polly moves an open circuit to half-open only when an execution is attempted, so once the break is
                // over the loop claims one event as the probe (a batch is only claimed while the circuit is closed), and
                // waits while that probe runs.
                if ((Circuit == CircuitState.Open && _time.GetUtcNow() < ProbeAt())
                    || Circuit == CircuitState.HalfOpen)
                {
                    await Task.Delay(PollInterval, _time, stopping).ConfigureAwait(false);
                    continue;
                }

                if (await IsPausedAsync().ConfigureAwait(false))
                {
                    // Paused by an operator: events keep queueing, deliveries in flight finish, nothing new is claimed.
                    await _signals.WaitAsync(Target.Id, PollInterval, stopping).ConfigureAwait(false);
                    continue;
                }

                await _slots.WaitAsync(stopping).ConfigureAwait(false);
                var wanted = 1;
                while (wanted < MaxBatch && Circuit == CircuitState.Closed && _slots.Wait(0))
                {
                    wanted++;
                }

                IReadOnlyList<ClaimedEvent> claimed = [];
                try
                {
                    claimed = await ClaimAsync(wanted).ConfigureAwait(false);
                }
                finally
                {
                    // Slots not turned into deliveries go back, also when the claim failed (store down):
                    // a leak here would stall the target for good once the store returns.
                    if (wanted > claimed.Count)
                    {
                        _slots.Release(wanted - claimed.Count);
                    }
                }

                foreach (var e in claimed)
                {
                    Track(DeliverAsync(e));
                }

                if (claimed.Count == 0)
                {
                    await _signals.WaitAsync(Target.Id, PollInterval, stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                Log.StoreError(_logger, Target.Id, ex.Message);
                await Task.Delay(PollInterval, _time, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // A bug must not end this target's deliveries for good: say so loudly, count it, and go on.
                Log.LoopFailed(_logger, Target.Id, ex);
                _metrics.DispatchError(Target.Id);
                await Task.Delay(PollInterval, _time, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The pause flag lives in the store (shared by replicas, kept across restarts). While running it is read at most
    /// once per poll interval; while paused, on every turn (a poll or a wake-up), so a resume takes effect at once.
    /// </summary>
    private async ValueTask<bool> IsPausedAsync()
    {
        var now = _time.GetTimestamp();
        var readAt = Volatile.Read(ref _pauseReadAt);
        if (_paused || readAt == 0 || _time.GetElapsedTime(readAt, now) >= PollInterval)
        {
            _paused = await _store.IsPausedAsync(Target.Id).ConfigureAwait(false);
            _pauseReadAt = now;
        }

        return _paused;
    }

    /// <summary>Claims from the partitions in turn, starting after the last one served, so no partition starves.</summary>
    private async Task<IReadOnlyList<ClaimedEvent>> ClaimAsync(int wanted)
    {
        var partitions = _store.Span;
        for (var visited = 0; visited < partitions; visited++)
        {
            var partition = _nextPartition;
            _nextPartition = (_nextPartition + 1) % partitions;
            var claimed = await _store.ClaimAsync(Target.Id, partition, wanted, _lease).ConfigureAwait(false);
            if (claimed.Count > 0)
            {
                return claimed;
            }
        }

        return [];
    }

    private void Track(Task delivery)
    {
        lock (_inFlight)
        {
            _inFlight.Add(delivery);
        }

        delivery.ContinueWith(
            static (t, state) =>
            {
                var set = (HashSet<Task>)state!;
                lock (set)
                {
                    set.Remove(t);
                }
            },
            _inFlight,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task DeliverAsync(ClaimedEvent claimed)
    {
        // Each attempt is a span in the event's own trace, started at ingest.
        ActivityContext.TryParse(claimed.TraceParent, null, out var ingest);
        using var activity = RelayMetrics.ActivitySource.StartActivity("relay.deliver", ActivityKind.Client, ingest);
        activity?.SetTag("webhook.id", claimed.Id);
        activity?.SetTag("relay.target", Target.Id);
        activity?.SetTag("relay.attempt", claimed.Attempts + 1);
        using var leaseLost = new CancellationTokenSource();
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_abortDeliveries.Token, leaseLost.Token);
        using var settled = new CancellationTokenSource();
        var keeping = KeepLeaseAsync(claimed, leaseLost, settled.Token);
        try
        {
            DeliveryResult result;
            try
            {
                // The source's deferred check (if any) is asked before the first send; its verdict replaces the send when it says no.
                result = await _checks.CheckAsync(claimed).ConfigureAwait(false) ?? await _circuit.ExecuteAsync(
                    static (state, token) => new ValueTask<DeliveryResult>(state.Client.SendAsync(state.Target, state.Claimed, token)),
                    (Client: _client, Target, Claimed: claimed),
                    attempt.Token).ConfigureAwait(false);
            }
            catch (BrokenCircuitException open)
            {
                // Handed back until the break is over, when the loop claims one event as the probe.
                result = DeliveryResult.CircuitIsOpen(open.RetryAfter ?? ProbeAt() - _time.GetUtcNow());
            }

            if (leaseLost.IsCancellationRequested)
            {
                // Another worker may hold the event now; whatever this attempt did, it records nothing.
                return;
            }

            activity?.SetTag("relay.outcome", result.Outcome.ToString());
            activity?.SetTag("http.response.status_code", result.Status);
            await SettleAsync(claimed, result).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            // The lease expires and the event is claimed again: delivered at least once, never lost.
            Log.SettleFailed(_logger, Target.Id, claimed.Id, ex.Message);
        }
        catch (Exception ex)
        {
            // Not settled: the lease runs out and the event is delivered again. A bug here must show, not vanish.
            Log.DeliveryFailed(_logger, Target.Id, claimed.Id, ex);
            _metrics.DispatchError(Target.Id);
        }
        finally
        {
            await settled.CancelAsync().ConfigureAwait(false);
            await keeping.ConfigureAwait(false);
            _slots.Release();
        }
    }

    /// <summary>
    /// Extends the claim's lease every third of its length until the delivery is settled; if the lease is lost
    /// (the store gave it to another worker), cancels the delivery at once.
    /// </summary>
    private async Task KeepLeaseAsync(ClaimedEvent claimed, CancellationTokenSource leaseLost, CancellationToken settled)
    {
        while (true)
        {
            try
            {
                await Task.Delay(_lease / 3, _time, settled).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                if (!await _store.ExtendLeaseAsync(Target.Id, claimed, _lease).ConfigureAwait(false))
                {
                    Log.LeaseLost(_logger, Target.Id, claimed.Id);
                    await leaseLost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                // Try again at the next third; if the store stays away past the deadline, the extension fails as lost.
                Log.StoreError(_logger, Target.Id, ex.Message);
            }
        }
    }

    private async Task SettleAsync(ClaimedEvent claimed, DeliveryResult result)
    {
        var now = _time.GetUtcNow();
        var attempt = claimed.Attempts + 1;
        var record = new AttemptRecord(Target.Id, attempt, now.ToUnixTimeMilliseconds(), result.Status, (long)result.Duration.TotalMilliseconds, result.Error);
        if (result.WasAttempted)
        {
            var outcome = result.Outcome.ToString().ToLowerInvariant();
            _metrics.DeliveryAttempt(Target.Id, outcome, result.Duration);
            _counters.CountDelivery(Target.Id, outcome, result.Duration);
        }

        switch (result.Outcome)
        {
            case DeliveryOutcome.Delivered:
                await _store.CompleteAsync(Target.Id, claimed, record).ConfigureAwait(false);
                break;
            case DeliveryOutcome.Abandoned or DeliveryOutcome.CircuitOpen:
                var handBackUntil = now + (result.RetryAfter is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
                await _store.RetryAsync(Target.Id, claimed, handBackUntil, result.Reason, null, countAttempt: false).ConfigureAwait(false);
                break;
            case DeliveryOutcome.Retry when RetrySchedule.NextAttemptAt(Target.Retry, attempt, result.RetryAfter, now, Random.Shared.NextDouble()) is { } retryAt:
                Log.WillRetry(_logger, Target.Id, claimed.Id, attempt, result.Reason, retryAt);
                await _store.RetryAsync(Target.Id, claimed, retryAt, result.Reason, record).ConfigureAwait(false);
                break;
            default:
                var reason = result.Outcome switch
                {
                    DeliveryOutcome.Reject => $"rejected: {result.Reason}",
                    DeliveryOutcome.Quarantined => result.Reason,
                    _ => $"retries exhausted after {attempt} attempts: {result.Reason}",
                };
                Log.DeadLettered(_logger, Target.Id, claimed.Id, reason);
                var dead = await _store.DeadLetterAsync(
                    Target.Id, claimed, reason, record, quarantined: result.Outcome == DeliveryOutcome.Quarantined, blockKey: Target.OrderedByKey && Target.BlockOnDeadLetter).ConfigureAwait(false);
                if (dead)
                {
                    _metrics.DeadLettered(Target.Id);
                }

                break;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3001, LogLevel.Warning, "Target {Target}: store error while claiming ({Message}); retrying.")]
        public static partial void StoreError(ILogger logger, string target, string message);

        [LoggerMessage(3002, LogLevel.Warning, "Target {Target}: could not record the outcome for {EventId} ({Message}); it will be delivered again after its lease.")]
        public static partial void SettleFailed(ILogger logger, string target, string eventId, string message);

        [LoggerMessage(3003, LogLevel.Information, "Target {Target}: {EventId} attempt {Attempt} failed ({Reason}); next try at {RetryAt:O}.")]
        public static partial void WillRetry(ILogger logger, string target, string eventId, int attempt, string reason, DateTimeOffset retryAt);

        [LoggerMessage(3005, LogLevel.Error, "Target {Target}: the dispatch loop failed; it goes on after a pause.")]
        public static partial void LoopFailed(ILogger logger, string target, Exception exception);

        [LoggerMessage(3006, LogLevel.Error, "Target {Target}: delivering {EventId} failed unexpectedly; it will be delivered again after its lease.")]
        public static partial void DeliveryFailed(ILogger logger, string target, string eventId, Exception exception);

        [LoggerMessage(3007, LogLevel.Warning, "Target {Target}: the lease on {EventId} was lost while delivering; the delivery was stopped and records nothing.")]
        public static partial void LeaseLost(ILogger logger, string target, string eventId);

        [LoggerMessage(3004, LogLevel.Warning, "Target {Target}: {EventId} dead-lettered: {Reason}.")]
        public static partial void DeadLettered(ILogger logger, string target, string eventId, string reason);
    }
}
