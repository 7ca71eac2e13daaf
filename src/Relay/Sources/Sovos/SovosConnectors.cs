using System.Collections.Concurrent;
using Microsoft.Extensions.Primitives;
using Relay.Configuration;
using Relay.Ingress;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Sources.Sovos;

/// <summary>
/// Runs one <see cref="SovosConnector"/> per <c>sovos-sse</c> source and keeps that set in step with the config:
/// a reload that adds a source starts its connector, one that removes a source or changes its connection settings
/// stops (and, if changed, restarts) it; route changes apply to the next event without a reconnect.
/// Also the registry through which health checks and the admin API see every connector's state.
/// </summary>
internal sealed partial class SovosConnectors(
    RelayConfigProvider configProvider,
    EventAcceptor acceptor,
    StoreConnection connection,
    RelayMetrics metrics,
    TimeProvider time,
    ILoggerFactory loggerFactory) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Running> _running = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggerFactory.CreateLogger<SovosConnectors>();

    /// <summary>
    /// The running connectors, ordered by source id, with the settings each runs with. The settings hold the client
    /// secret: show their URLs (query redacted) and client id, never the record whole.
    /// </summary>
    public IReadOnlyList<(SovosConnectorState State, SovosSseConfig Config)> Connectors =>
        [.. _running.Values.OrderBy(r => r.Connector.State.Source, StringComparer.Ordinal).Select(r => (r.Connector.State, r.Connector.Config))];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Take the change token before reading the snapshot, so a reload in between is not missed.
                var changed = configProvider.ChangeToken;
                await ReconcileAsync(configProvider.Current, stoppingToken).ConfigureAwait(false);
                await WaitForAsync(changed, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            await Task.WhenAll(_running.Keys.ToArray().Select(StopAsync)).ConfigureAwait(false);
        }
    }

    private async Task ReconcileAsync(RelaySnapshot snapshot, CancellationToken stoppingToken)
    {
        var wanted = snapshot.Connectors
            .Where(c => c.Settings is SovosSseConfig)
            .ToDictionary(c => c.Config.Id, StringComparer.Ordinal);
        var stale = _running.Where(r => !wanted.TryGetValue(r.Key, out var binding) || !binding.Settings.Equals(r.Value.Connector.Config)).Select(r => r.Key);
        await Task.WhenAll(stale.ToArray().Select(StopAsync)).ConfigureAwait(false);

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
        var connector = new SovosConnector(
            binding.Config,
            (SovosSseConfig)binding.Settings,
            () => configProvider.Current.Config.Sources.GetValueOrDefault(id),
            acceptor,
            connection,
            metrics,
            time,
            loggerFactory.CreateLogger<SovosConnector>());
        var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        _running[id] = new Running(connector, stopping, Task.Run(() => connector.RunAsync(stopping.Token), CancellationToken.None));
    }

    private async Task StopAsync(string id)
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
            metrics.SseRemoved(id);
            _running.TryRemove(id, out _);
            running.Stopping.Dispose();
            running.Connector.Dispose();
        }
    }

    private static async Task WaitForAsync(IChangeToken changed, CancellationToken stoppingToken)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = changed.RegisterChangeCallback(static s => ((TaskCompletionSource)s!).TrySetResult(), signal);
        await signal.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
    }

    private sealed record Running(SovosConnector Connector, CancellationTokenSource Stopping, Task Task);

    private static partial class Log
    {
        [LoggerMessage(5101, LogLevel.Error, "Source {Source}: connector failed ({Error}: {Message}).")]
        public static partial void ConnectorFailed(ILogger logger, string source, string error, string message);
    }
}
