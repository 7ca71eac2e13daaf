using Relay.Configuration;
using Relay.Store;

namespace Relay.Telemetry;

/// <summary>
/// Samples each target's queue depths from the store every few seconds for the <c>relay.queue.depth</c> gauge.
/// Gauge callbacks are synchronous and must not wait on the network, so they read this cache instead.
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
                var targets = configProvider.Current.Config.Targets.Keys.ToArray();
                var counts = await Task.WhenAll(targets.Select(store.CountAsync)).ConfigureAwait(false);
                metrics.SetQueueDepths(targets.Zip(counts).ToDictionary(p => p.First, p => p.Second));
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
