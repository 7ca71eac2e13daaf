using Relay.Configuration;
using Relay.Store;

namespace Relay.Dispatch;

/// <summary>
/// Once a second, one replica (whoever takes the turn in the store) moves due retries and expired leases back to
/// ready, for every target and partition; the store wakes the local dispatchers that got work. Once a minute the
/// replica whose turn it is also purges dead letters older than <c>store.deadLetterRetention</c>.
/// </summary>
internal sealed partial class RetryScheduler(
    RelayConfigProvider configProvider,
    EventStore store,
    EventOperations operations,
    TimeProvider time,
    ILogger<RetryScheduler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private const int MaxMovedPerSweep = 1000;

    /// <summary>How often old dead letters are looked for: they are days old, so a minute late is nothing.</summary>
    private static readonly TimeSpan DeadLetterSweepInterval = TimeSpan.FromMinutes(1);

    private readonly string _owner = Guid.NewGuid().ToString("N");
    private DateTimeOffset _nextDeadLetterSweep = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                if (await store.TryTakeSchedulerTurnAsync(_owner, Interval * 0.9).ConfigureAwait(false))
                {
                    await SweepAsync().ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                Log.SweepFailed(logger, ex.Message);
            }
        }
    }

    private async Task SweepAsync()
    {
        var targets = configProvider.Current.Config.Targets.Keys.ToArray();
        var now = time.GetUtcNow();
        if (now >= _nextDeadLetterSweep)
        {
            _nextDeadLetterSweep = now + DeadLetterSweepInterval;
            var olderThan = now - configProvider.Current.Config.Store.DeadLetterRetention;
            foreach (var target in targets)
            {
                if (await operations.DropDeadLettersAsync(target, olderThan).ConfigureAwait(false) is var expired and > 0)
                {
                    Log.DeadLettersExpired(logger, target, expired);
                }
            }
        }

        var sweeps = targets
            .SelectMany(target => Enumerable.Range(0, store.Span).Select(p => (target, Moved: store.PromoteAsync(target, p, MaxMovedPerSweep))))
            .ToArray();
        await Task.WhenAll(sweeps.Select(s => s.Moved)).ConfigureAwait(false);
        foreach (var (target, moved) in sweeps)
        {
            var (_, reclaimed) = moved.Result;
            if (reclaimed > 0)
            {
                Log.LeasesReclaimed(logger, target, reclaimed);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3101, LogLevel.Warning, "Scheduler sweep failed: {Message}.")]
        public static partial void SweepFailed(ILogger logger, string message);

        [LoggerMessage(3103, LogLevel.Information, "Target {Target}: {Count} dead letters older than store.deadLetterRetention purged.")]
        public static partial void DeadLettersExpired(ILogger logger, string target, long count);

        [LoggerMessage(3102, LogLevel.Warning, "Target {Target}: {Count} expired leases returned to ready (a worker stopped before settling them).")]
        public static partial void LeasesReclaimed(ILogger logger, string target, long count);
    }
}
