using Relay.Configuration;
using Relay.Telemetry;

namespace Relay.Ingress;

/// <summary>
/// The memory webhook bodies may take while they are read, wait for a turn and are processed:
/// <c>ingress.maxBufferedBytes</c> over every webhook request at once. Bodies are read before a request asks
/// <see cref="IngressAdmission"/> for a turn, so a sender that trickles its body holds only the bytes it has sent, never
/// a turn; a read that would go past the budget is answered 503. A request grows its share as its buffer grows and
/// gives it all back once answered.
/// </summary>
internal sealed class IngressBodyBudget
{
    private readonly RelayConfigProvider _configProvider;
    private long _held;

    public IngressBodyBudget(RelayConfigProvider configProvider, RelayMetrics metrics)
    {
        _configProvider = configProvider;
        metrics.ObserveIngressBuffered(() => Held);
    }

    /// <summary>Body bytes held by webhook requests now.</summary>
    public long Held => Volatile.Read(ref _held);

    /// <summary>Takes <paramref name="bytes"/> more of the budget; false, taking nothing, when that would exceed it.</summary>
    public bool TryTake(long bytes)
    {
        var limit = _configProvider.Current.Config.Ingress.MaxBufferedBytes;
        if (Interlocked.Add(ref _held, bytes) <= limit)
        {
            return true;
        }

        Interlocked.Add(ref _held, -bytes);
        return false;
    }

    public void Give(long bytes) => Interlocked.Add(ref _held, -bytes);
}
