using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// Per-minute counts kept in the store for the operator console, so that every replica shows the whole cluster:
/// ingest outcomes per source, delivery outcomes per target, and delivery durations per target in buckets (for a
/// p95). Counting happens in memory and is flushed about once a second in one round trip of HINCRBYs, so no request
/// waits on it; what cannot be flushed (store down) is kept and added on the next flush. A crash loses at most the
/// last second's counts, which is fine for a dashboard and is why these are not the ledger of what was acked.
/// </summary>
internal sealed partial class MinuteCounters(StoreConnection connection, TimeProvider time, ILogger<MinuteCounters> logger) : BackgroundService
{
    /// <summary>How long a minute's counts are kept in the store.</summary>
    public static readonly TimeSpan Kept = TimeSpan.FromHours(2);

    /// <summary>Upper bounds of the delivery-duration buckets, in ms; the last one holds everything slower.</summary>
    public static readonly IReadOnlyList<double> DurationBucketsMs = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, double.PositiveInfinity];

    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);

    private ConcurrentDictionary<(long Minute, string Field), long> _unflushed = new();

    /// <summary>One webhook request or streamed event of <paramref name="source"/> ended with <paramref name="outcome"/>.</summary>
    public void CountIngest(string source, string outcome) => Add(MinuteCounts.IngestField(source, outcome), 1);

    /// <summary>One delivery attempt to <paramref name="target"/> ended with <paramref name="outcome"/> after <paramref name="duration"/>.</summary>
    public void CountDelivery(string target, string outcome, TimeSpan duration)
    {
        Add(MinuteCounts.DeliveryField(target, outcome), 1);
        Add(MinuteCounts.DurationField(target, BucketOf(duration.TotalMilliseconds)), 1);
    }

    /// <summary>The counts of the <paramref name="minutes"/> whole minutes up to now (the current one included), oldest first.</summary>
    public async Task<IReadOnlyList<MinuteCounts>> ReadAsync(int minutes)
    {
        var last = MinuteOf(time.GetUtcNow());
        var batch = connection.Database.CreateBatch();
        var reads = Enumerable.Range(0, minutes).Select(i => last - minutes + 1 + i).Select(m => (Minute: m, Read: batch.HashGetAllAsync(Key(m)))).ToArray();
        batch.Execute();
        var counts = new List<MinuteCounts>(minutes);
        foreach (var (minute, read) in reads)
        {
            var fields = (await read.ConfigureAwait(false)).ToDictionary(e => (string)e.Name!, e => (long)e.Value, StringComparer.Ordinal);
            counts.Add(new MinuteCounts(DateTimeOffset.FromUnixTimeSeconds(minute * 60), fields));
        }

        return counts;
    }

    /// <summary>Writes what was counted since the last flush; kept for the next one when the store cannot be reached.</summary>
    public async Task FlushAsync()
    {
        var flushing = Interlocked.Exchange(ref _unflushed, new ConcurrentDictionary<(long Minute, string Field), long>());
        if (flushing.IsEmpty)
        {
            return;
        }

        try
        {
            var batch = connection.Database.CreateBatch();
            var writes = new List<Task>();
            foreach (var minute in flushing.GroupBy(e => e.Key.Minute))
            {
                writes.AddRange(minute.Select(e => batch.HashIncrementAsync(Key(minute.Key), e.Key.Field, e.Value)));
                writes.Add(batch.KeyExpireAsync(Key(minute.Key), Kept));
            }

            batch.Execute();
            await Task.WhenAll(writes).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            // A partly applied batch may count some of these twice once retried; a dashboard can live with that.
            foreach (var ((minute, field), value) in flushing)
            {
                _unflushed.AddOrUpdate((minute, field), value, (_, current) => current + value);
            }

            Log.FlushFailed(logger, ex.GetType().Name);
        }
    }

    /// <summary>The bucket a duration falls in.</summary>
    public static int BucketOf(double milliseconds)
    {
        for (var i = 0; i < DurationBucketsMs.Count; i++)
        {
            if (milliseconds <= DurationBucketsMs[i])
            {
                return i;
            }
        }

        return DurationBucketsMs.Count - 1;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync().ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync flushes what is left.
        }
    }

    private static long MinuteOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / 60;

    private RedisKey Key(long minute) => $"{{{connection.Keys.Prefix}}}:minute:{minute}";

    private void Add(string field, long value) => _unflushed.AddOrUpdate((MinuteOf(time.GetUtcNow()), field), value, (_, current) => current + value);

    private static partial class Log
    {
        [LoggerMessage(1004, LogLevel.Debug, "Per-minute counts not flushed ({Error}); kept for the next flush.")]
        public static partial void FlushFailed(ILogger logger, string error);
    }
}

/// <summary>One minute's counts, as the console reads them (fields are written by <see cref="MinuteCounters"/> only).</summary>
/// <param name="At">The minute's start.</param>
internal sealed record MinuteCounts(DateTimeOffset At, IReadOnlyDictionary<string, long> Fields)
{
    public long Ingest(string source, string outcome) => Fields.GetValueOrDefault(IngestField(source, outcome));

    public long Deliveries(string target, string outcome) => Fields.GetValueOrDefault(DeliveryField(target, outcome));

    /// <summary>Delivery attempts per duration bucket (see <see cref="MinuteCounters.DurationBucketsMs"/>).</summary>
    public long[] Durations(string target) => [.. Enumerable.Range(0, MinuteCounters.DurationBucketsMs.Count).Select(b => Fields.GetValueOrDefault(DurationField(target, b)))];

    internal static string IngestField(string source, string outcome) => $"in|{source}|{outcome}";

    internal static string DeliveryField(string target, string outcome) => $"out|{target}|{outcome}";

    internal static string DurationField(string target, int bucket) => $"ms|{target}|{bucket}";

    /// <summary>
    /// The <paramref name="quantile"/> of durations counted in <paramref name="buckets"/>, as the upper bound of the
    /// bucket it falls in (so it is not understated, except past the last bound, reported as that bound); null when
    /// nothing was counted.
    /// </summary>
    public static double? Quantile(IReadOnlyList<long> buckets, double quantile)
    {
        var total = buckets.Sum();
        if (total == 0)
        {
            return null;
        }

        var rank = Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < buckets.Count; i++)
        {
            seen += buckets[i];
            if (seen >= rank)
            {
                var bound = MinuteCounters.DurationBucketsMs[i];
                return double.IsPositiveInfinity(bound) ? MinuteCounters.DurationBucketsMs[^2] : bound;
            }
        }

        return MinuteCounters.DurationBucketsMs[^2];
    }
}
