using Relay.Configuration;
using Relay.Store;

namespace Relay.Telemetry;

/// <summary>
/// Samples each target's queue depths and lag from the store every few seconds for the <c>relay.queue.depth</c> and
/// <c>relay.queue.lag</c> gauges. Gauge callbacks are synchronous and must not wait on the network, so they read this
/// cache instead.
/// </summary>
internal sealed partial class QueueDepthSampler(
    RelayConfigProvider configProvider, EventStore store, RelayMetrics metrics, TimeProvider time, ILogger<QueueDepthSampler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                var config = configProvider.Current.Config;
                var targets = config.Targets.Keys.ToArray();
                metrics.AnnounceSeries(config.Sources.Keys, targets);
                var counts = await Task.WhenAll(targets.Select(store.CountAsync)).ConfigureAwait(false);
                metrics.SetQueueDepths(targets.Zip(counts).ToDictionary(p => p.First, p => p.Second));
                var lags = await Task.WhenAll(targets.Select(store.LagAsync)).ConfigureAwait(false);
                metrics.SetQueueLags(targets.Zip(lags).ToDictionary(p => p.First, p => p.Second));
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                Log.SampleFailed(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private static partial class Log
    {
        [LoggerMessage(6001, LogLevel.Debug, "Queue depth sample failed: {Message}.")]
        public static partial void SampleFailed(ILogger logger, string message);
    }
}
