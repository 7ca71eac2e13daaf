namespace Relay.Ingress;

/// <summary>
/// How long an admitted webhook request takes from its turn to its ack (verify, store, durable write): the 99th
/// percentile of the last <see cref="Window"/> acks within the last <see cref="Horizon"/>. <see cref="IngressAdmission"/>
/// stops a request waiting for a turn this long before its ack budget runs out. Recent, so it follows the store as it
/// slows under load, and forgets a slow spell within the horizon once faster acks come (at a few acks a second as well
/// as at thousands); a high percentile, so it errs towards refusing early (a vendor retries a 503) rather than acking
/// late. Cheap: an ack costs two array writes, and at most every <see cref="RefreshEvery"/> acks or
/// <see cref="RefreshInterval"/> one of them sorts the window (a few microseconds).
/// </summary>
internal sealed class AckTimeEstimate(TimeProvider time)
{
    /// <summary>Acks the estimate is taken over at most; at a few thousand acks a second, the last tenth of a second or so.</summary>
    public const int Window = 256;

    /// <summary>How often the percentile is taken again, in acks, under load.</summary>
    public const int RefreshEvery = 16;

    /// <summary>Acks older than this no longer count, however few came since: a slow spell is forgotten this soon.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromSeconds(1);

    /// <summary>How often the percentile is taken again at most, in time, when acks are few.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(50);

    private const double Percentile = 0.99;

    // An ack's duration and when it was acked, per slot. A reader may see one slot's pair half written while an ack
    // fills it: that sample is counted once with the wrong age, which moves a percentile by nothing that matters.
    private readonly long[] _ticks = new long[Window];
    private readonly long[] _ackedAt = new long[Window];
    private readonly long[] _recent = new long[Window];
    private long _recorded;
    private long _estimate;
    private long _refreshedAt;
    private int _refreshing;

    /// <summary>The 99th percentile of the recent acks; zero before the first.</summary>
    public TimeSpan Current => TimeSpan.FromTicks(Volatile.Read(ref _estimate));

    /// <summary>Adds one admitted request's time from its turn to its ack, acked now.</summary>
    public void Record(TimeSpan elapsed)
    {
        var now = time.GetTimestamp();
        var recorded = Interlocked.Increment(ref _recorded);
        var slot = (int)((recorded - 1) % Window);
        Volatile.Write(ref _ticks[slot], elapsed.Ticks);
        Volatile.Write(ref _ackedAt[slot], now);
        if (recorded % RefreshEvery == 0 || time.GetElapsedTime(Volatile.Read(ref _refreshedAt), now) >= RefreshInterval)
        {
            Refresh((int)Math.Min(recorded, Window), now);
        }
    }

    private void Refresh(int filled, long now)
    {
        // One refresh at a time; an ack that finds one running leaves its sample to the next.
        if (Interlocked.CompareExchange(ref _refreshing, 1, 0) != 0)
        {
            return;
        }

        try
        {
            var count = 0;
            for (var slot = 0; slot < filled; slot++)
            {
                if (time.GetElapsedTime(Volatile.Read(ref _ackedAt[slot]), now) <= Horizon)
                {
                    _recent[count++] = Volatile.Read(ref _ticks[slot]);
                }
            }

            if (count > 0)
            {
                var recent = _recent.AsSpan(0, count);
                recent.Sort();
                Volatile.Write(ref _estimate, recent[(int)Math.Ceiling(count * Percentile) - 1]);
            }

            Volatile.Write(ref _refreshedAt, now);
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }
}
