using System.Threading.RateLimiting;
using Relay.Configuration;
using Relay.Telemetry;

namespace Relay.Ingress;

/// <summary>
/// The one admission point of webhook ingress, once a body is read: at most <c>ingress.maxConcurrentRequests</c>
/// webhook requests are verified and stored at once, up to <c>ingress.queueLimit</c> more wait for a turn (oldest
/// first), and past that a request is refused, to be answered <c>503</c> with <c>Retry-After</c>. A request in flight
/// holds its body several times over (copy, store command), so this is what bounds ingress work and memory.
/// <para>
/// A request is given a turn only while it could still be acked within <c>ingress.ackBudget</c> of its start: it
/// stops waiting at start + budget − <see cref="AckTime"/> (the recent time from a turn to an ack), so its vendor gets
/// a 503 to retry rather than an ack it may already have stopped waiting for, and a turn that comes (or is free) later
/// than that is handed back, unless no other webhook request is in progress: one always is, so the estimate keeps
/// learning while the store is slower than the budget. Once admitted, a request goes on to its durable write and ack.
/// </para>
/// Pass-through and admin requests never come here. The limits follow config reloads: a change starts a new limiter,
/// and requests admitted or queued by the old one finish under it.
/// </summary>
internal sealed class IngressAdmission
{
    private readonly RelayConfigProvider _configProvider;
    private readonly TimeProvider _time;
    private readonly AckTimeEstimate _ackTime;
    private Gate? _gate;

    public IngressAdmission(RelayConfigProvider configProvider, RelayMetrics metrics, TimeProvider time)
    {
        _configProvider = configProvider;
        _time = time;
        _ackTime = new AckTimeEstimate(time);
        metrics.ObserveIngressAdmission(() => Load);
    }

    /// <summary>Webhook requests admitted and in progress, and those waiting for a turn, under the limits in force.</summary>
    public (long Admitted, long Queued) Load
    {
        get
        {
            if (Volatile.Read(ref _gate) is not { } gate || gate.Limiter.GetStatistics() is not { } statistics)
            {
                return (0, 0);
            }

            return (gate.Permits - statistics.CurrentAvailablePermits, statistics.CurrentQueuedCount);
        }
    }

    /// <summary>The recent time from a turn to an ack (<see cref="AckTimeEstimate"/>); zero before the first ack.</summary>
    public TimeSpan AckTime => _ackTime.Current;

    /// <summary>
    /// Waits for a turn for a request that started at <paramref name="startedAt"/> (a <see cref="TimeProvider"/>
    /// timestamp), at most until it could no longer be acked within the ack budget. Dispose the turn once the request is
    /// answered. Throws <see cref="OperationCanceledException"/> when the client goes away while queued.
    /// </summary>
    public async ValueTask<IngressTurn> EnterAsync(long startedAt, CancellationToken aborted)
    {
        var gate = Current();
        var lease = gate.Limiter.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            var wait = TimeLeft(startedAt);
            if (wait <= TimeSpan.Zero)
            {
                return new IngressTurn(AdmissionOutcome.Late);
            }

            using var deadline = new CancellationTokenSource(wait, _time);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(aborted, deadline.Token);
            try
            {
                lease = await gate.Limiter.AcquireAsync(1, either.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
            {
                // The limiter has taken it out of the queue.
                return new IngressTurn(AdmissionOutcome.Late);
            }

            if (!lease.IsAcquired)
            {
                lease.Dispose();
                return new IngressTurn(AdmissionOutcome.Full);
            }
        }

        // A turn, kept while the ack can still come in time by the current estimate; or when no other webhook request is
        // in progress, so that one always is: its ack tells how long acks take now, when the store is slower than the budget.
        if (TimeLeft(startedAt) < TimeSpan.Zero && gate.Permits - gate.Limiter.GetStatistics()!.CurrentAvailablePermits > 1)
        {
            lease.Dispose();
            return new IngressTurn(AdmissionOutcome.Late);
        }

        return new IngressTurn(lease, _time.GetTimestamp());
    }

    /// <summary>The request holding <paramref name="turn"/> has been acked: its time from turn to ack joins the estimate.</summary>
    public void Acked(in IngressTurn turn) => _ackTime.Record(_time.GetElapsedTime(turn.AdmittedAt));

    /// <summary>How long a request that started at <paramref name="startedAt"/> may still wait for a turn and be acked in time.</summary>
    private TimeSpan TimeLeft(long startedAt) => _configProvider.Current.Config.Ingress.AckBudget - _ackTime.Current - _time.GetElapsedTime(startedAt);

    private Gate Current()
    {
        var ingress = _configProvider.Current.Config.Ingress;
        var gate = Volatile.Read(ref _gate);
        if (gate is not null && gate.Permits == ingress.MaxConcurrentRequests && gate.Queue == ingress.QueueLimit)
        {
            return gate;
        }

        var fresh = new Gate(ingress.MaxConcurrentRequests, ingress.QueueLimit, new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = ingress.MaxConcurrentRequests,
            QueueLimit = ingress.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        }));
        var seen = Interlocked.CompareExchange(ref _gate, fresh, gate);
        if (ReferenceEquals(seen, gate))
        {
            return fresh;
        }

        // Another request installed the new limits first.
        fresh.Limiter.Dispose();
        return seen!;
    }

    private sealed record Gate(int Permits, int Queue, ConcurrencyLimiter Limiter);
}

/// <summary>Whether a webhook request got a turn, and if not, why.</summary>
internal enum AdmissionOutcome
{
    Admitted,

    /// <summary>Every turn taken and the queue full.</summary>
    Full,

    /// <summary>No turn came while the request could still be acked within <c>ingress.ackBudget</c>.</summary>
    Late,
}

/// <summary>A webhook request's turn, or why it got none. Disposing it gives the turn back.</summary>
internal readonly struct IngressTurn : IDisposable
{
    private readonly RateLimitLease? _lease;

    public IngressTurn(RateLimitLease lease, long admittedAt)
    {
        _lease = lease;
        AdmittedAt = admittedAt;
        Outcome = AdmissionOutcome.Admitted;
    }

    public IngressTurn(AdmissionOutcome refused) => Outcome = refused;

    public AdmissionOutcome Outcome { get; }

    /// <summary>When the turn was given (a <see cref="TimeProvider"/> timestamp).</summary>
    public long AdmittedAt { get; }

    public void Dispose() => _lease?.Dispose();
}
