namespace Relay.Ingress;

/// <summary>
/// How long an admitted webhook request takes from its turn to its ack (verify, store, durable write): the 99th
/// percentile of the last <see cref="Window"/> acks. <see cref="IngressAdmission"/> stops a request waiting for a turn
/// this long before its ack budget runs out. Recent, so it follows the store as it slows under load and recovers; a high
/// percentile, so it errs towards refusing early (a vendor retries a 503) rather than acking late. Cheap: an ack costs an
/// array write, and every <see cref="RefreshEvery"/> acks one of them sorts the window (a few microseconds).
/// </summary>
internal sealed class AckTimeEstimate
{
    /// <summary>Acks the estimate is taken over; at a few thousand acks a second, the last tenth of a second or so.</summary>
    public const int Window = 256;

    /// <summary>How often the percentile is taken again, in acks; every ack while the window is still filling.</summary>
    public const int RefreshEvery = 16;

    private const double Percentile = 0.99;

    private readonly long[] _ticks = new long[Window];
    private readonly long[] _sorted = new long[Window];
    private long _recorded;
    private long _estimate;
    private int _refreshing;

    /// <summary>The 99th percentile of the recent acks; zero before the first.</summary>
    public TimeSpan Current => TimeSpan.FromTicks(Volatile.Read(ref _estimate));

    /// <summary>Adds one admitted request's time from its turn to its ack.</summary>
    public void Record(TimeSpan elapsed)
    {
        var recorded = Interlocked.Increment(ref _recorded);
        Volatile.Write(ref _ticks[(recorded - 1) % Window], elapsed.Ticks);
        if (recorded <= Window || recorded % RefreshEvery == 0)
        {
            Refresh((int)Math.Min(recorded, Window));
        }
    }

    private void Refresh(int count)
    {
        // One refresh at a time; an ack that finds one running leaves its sample to the next.
        if (Interlocked.CompareExchange(ref _refreshing, 1, 0) != 0)
        {
            return;
        }

        try
        {
            var sorted = _sorted.AsSpan(0, count);
            _ticks.AsSpan(0, count).CopyTo(sorted);
            sorted.Sort();
            Volatile.Write(ref _estimate, sorted[(int)Math.Ceiling(count * Percentile) - 1]);
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }
}
