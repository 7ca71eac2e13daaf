using System.Threading.RateLimiting;
using Relay.Configuration;
using Relay.Telemetry;

namespace Relay.Ingress;

/// <summary>
/// The one admission point of webhook ingress, ahead of reading a body: at most <c>ingress.maxConcurrentRequests</c>
/// webhook requests are read, verified and stored at once, up to <c>ingress.queueLimit</c> more wait for a turn (oldest
/// first), and past that a request is refused, to be answered <c>503</c> with <c>Retry-After</c>. A request in flight
/// holds its body several times over (read buffer, copy, store command), so this is what bounds ingress memory.
/// Pass-through and admin requests never come here. The limits follow config reloads: a change starts a new limiter,
/// and requests admitted or queued by the old one finish under it.
/// </summary>
internal sealed class IngressAdmission
{
    private readonly RelayConfigProvider _configProvider;
    private Gate? _gate;

    public IngressAdmission(RelayConfigProvider configProvider, RelayMetrics metrics)
    {
        _configProvider = configProvider;
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

    /// <summary>
    /// Waits for a turn. Returns the lease to dispose once the request is answered, or null when the limit and the queue
    /// are both full. Throws <see cref="OperationCanceledException"/> when the client goes away while queued.
    /// </summary>
    public async ValueTask<RateLimitLease?> EnterAsync(CancellationToken aborted)
    {
        var lease = await Limiter().AcquireAsync(1, aborted).ConfigureAwait(false);
        if (lease.IsAcquired)
        {
            return lease;
        }

        lease.Dispose();
        return null;
    }

    private ConcurrencyLimiter Limiter()
    {
        var ingress = _configProvider.Current.Config.Ingress;
        var gate = Volatile.Read(ref _gate);
        if (gate is not null && gate.Permits == ingress.MaxConcurrentRequests && gate.Queue == ingress.QueueLimit)
        {
            return gate.Limiter;
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
            return fresh.Limiter;
        }

        // Another request installed the new limits first.
        fresh.Limiter.Dispose();
        return seen!.Limiter;
    }

    private sealed record Gate(int Permits, int Queue, ConcurrencyLimiter Limiter);
}
