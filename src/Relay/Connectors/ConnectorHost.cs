using System.Collections.Concurrent;
using Relay.Configuration;
using Relay.Ingress;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Connectors;

/// <summary>
/// Runs one <see cref="ConnectorRuntime"/> per connector source, of any kind, and keeps that set in step with the
/// config: a reload that adds a source starts its connector, one that removes a source or changes its connection
/// settings stops (and, if changed, restarts) it; route changes apply to the next event without a reconnect. A stopped
/// connector first finishes storing an event it has read (see <see cref="StopAsync"/> for shutdown).
/// Also the registry through which health checks and the admin API see every connector's state.
/// </summary>
internal sealed partial class ConnectorHost(
    RelayConfigProvider configProvider,
    EventAcceptor acceptor,
    StoreConnection connection,
    RelayMetrics metrics,
    MinuteCounters counters,
    ClusterReports reports,
    TimeProvider time,
    ILoggerFactory loggerFactory) : BackgroundService
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(5);

    /// <summary>Past the host's shutdown time, how long connectors still get to log what they gave up.</summary>
    private static readonly TimeSpan LastWords = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Running> _running = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggerFactory.CreateLogger<ConnectorHost>();

    /// <summary>Cancelled when the host's shutdown time runs out: connectors give up an event they could not store.</summary>
    private readonly CancellationTokenSource _outOfTime = new();

    /// <summary>The running connectors, ordered by source id.</summary>
    public IReadOnlyList<ConnectorRuntime> Connectors =>
        [.. _running.Values.Select(r => r.Runtime).OrderBy(r => r.State.Source, StringComparer.Ordinal)];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(configProvider.FollowAsync(ReconcileAsync, stoppingToken), ReportAsync(stoppingToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            await Task.WhenAll(_running.Keys.ToArray().Select(StopConnectorAsync)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops reading every stream at once, but lets each connector finish storing an event it has read, for as long as
    /// the host's shutdown time allows (<c>HostOptions.ShutdownTimeout</c>); what is still not stored then is logged as lost.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Returns when every connector has stopped, or when the shutdown time is up (the token).
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (ExecuteTask is { IsCompleted: false } running)
        {
            await _outOfTime.CancelAsync().ConfigureAwait(false);
            await running.WaitAsync(LastWords, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public override void Dispose()
    {
        _outOfTime.Dispose();
        base.Dispose();
    }

    /// <summary>Every few seconds, the holder of each stream tells the store how it is, so every replica's console shows it.</summary>
    private async Task ReportAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ReportInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            foreach (var status in Connectors.Select(c => c.State.Status).Where(s => s.Role == ConnectorRole.Holder))
            {
                try
                {
                    await reports.ReportConnectorAsync(new ConnectorReport(
                        status.Source, status.Owner, status.Connected, status.ConnectedSince, status.LastEventAt, status.EventsReceived,
                        status.Reconnects, status.LastError, time.GetUtcNow())).ConfigureAwait(false);
                }
                catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
                {
                    // The lease holder loses its lease too while the store is down; the next report will do.
                }
            }
        }
    }

    private async Task ReconcileAsync(RelaySnapshot snapshot, CancellationToken stoppingToken)
    {
        var wanted = snapshot.Connectors.ToDictionary(c => c.Config.Id, StringComparer.Ordinal);
        var stale = _running.Where(r => !wanted.TryGetValue(r.Key, out var binding) || !binding.Settings.Equals(r.Value.Runtime.Settings)).Select(r => r.Key);
        await Task.WhenAll(stale.ToArray().Select(StopConnectorAsync)).ConfigureAwait(false);

        foreach (var (id, binding) in wanted)
        {
            if (!_running.ContainsKey(id))
            {
                Start(binding, stoppingToken);
            }
        }
    }

    private void Start(ConnectorBinding binding, CancellationToken stoppingToken)
    {
        var id = binding.Config.Id;
        var runtime = new ConnectorRuntime(
            binding.Config,
            binding.Settings,
            () => configProvider.Current.Config.Sources.GetValueOrDefault(id),
            acceptor,
            connection,
            metrics,
            counters,
            time,
            loggerFactory.CreateLogger<ConnectorRuntime>());
        var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        _running[id] = new Running(runtime, stopping, Task.Run(() => runtime.RunAsync(stopping.Token, _outOfTime.Token), CancellationToken.None));
    }

    private async Task StopConnectorAsync(string id)
    {
        if (!_running.TryGetValue(id, out var running))
        {
            return;
        }

        await running.Stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await running.Task.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ConnectorFailed(_logger, id, ex.GetType().Name, Redaction.RedactUrlQueries(ex.Message));
        }
        finally
        {
            // Gone from the registry and the gauge together, once it has really stopped.
            metrics.ConnectorRemoved(id);
            _running.TryRemove(id, out _);
            running.Stopping.Dispose();
            running.Runtime.Dispose();
        }
    }

    private sealed record Running(ConnectorRuntime Runtime, CancellationTokenSource Stopping, Task Task);

    private static partial class Log
    {
        [LoggerMessage(5101, LogLevel.Error, "Source {Source}: connector failed ({Error}: {Message}).")]
        public static partial void ConnectorFailed(ILogger logger, string source, string error, string message);
    }
}
