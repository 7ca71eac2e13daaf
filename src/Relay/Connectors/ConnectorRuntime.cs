using System.Diagnostics;
using Relay.Configuration;
using Relay.Ingress;
using Relay.Sources;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Connectors;

/// <summary>
/// Runs one connector source, whatever its kind: while this replica holds the source's lease
/// (<see cref="ConnectorLeaseHolder"/>), keeps the kind's stream open, reopening it with backoff and jitter, and accepts
/// every event through the same accept path as webhook ingress, retrying while the store is down.
/// </summary>
internal sealed partial class ConnectorRuntime : IDisposable
{
    /// <summary>An open stream that lasted this long counts as healthy: the next failure starts the backoff over.</summary>
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(10);

    private readonly SourceConfig _source;
    private readonly Func<SourceConfig?> _currentSource;
    private readonly IConnectorClient _client;
    private readonly ConnectorLeaseHolder _lease;
    private readonly EventAcceptor _acceptor;
    private readonly RelayMetrics _metrics;
    private readonly MinuteCounters _counters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private bool _attemptHealthy;

    /// <param name="currentSource">The source as the config in force describes it now (routes may change on reload), or null once removed.</param>
    public ConnectorRuntime(
        SourceConfig source,
        IConnectorSettings settings,
        Func<SourceConfig?> currentSource,
        EventAcceptor acceptor,
        StoreConnection connection,
        RelayMetrics metrics,
        MinuteCounters counters,
        TimeProvider time,
        ILogger logger)
    {
        _source = source;
        _counters = counters;
        Settings = settings;
        _currentSource = currentSource;
        _acceptor = acceptor;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        var owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
        State = new ConnectorState(source.Id, owner, time);
        _lease = new ConnectorLeaseHolder(
            new StoreLease(connection, connection.Keys.ConnectorLease(source.Id), owner), settings.Timing.LeaseTtl, State, time, logger);
        _client = settings.CreateClient(time);
    }

    public ConnectorState State { get; }

    /// <summary>The settings it runs with. They hold secrets: show <c>ToString()</c> or single fields, never the record whole.</summary>
    public IConnectorSettings Settings { get; }

    private ConnectorTiming Timing => Settings.Timing;

    public async Task RunAsync(CancellationToken stopping)
    {
        Log.Starting(_logger, _source.Id, Settings.ToString() ?? _source.Kind, State.Status.Owner);
        try
        {
            await _lease.RunAsync(StreamAsync, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shut down, or the source was removed or changed.
        }
        finally
        {
            State.Stop();
            _metrics.ConnectorConnected(_source.Id, connected: false);
            Log.Stopped(_logger, _source.Id);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Keeps the stream open while the lease holds: reads until it ends or fails, waits out the backoff, reopens.</summary>
    private async Task StreamAsync(CancellationToken holding)
    {
        try
        {
            var failures = 0;
            while (true)
            {
                string error;
                _attemptHealthy = false;
                try
                {
                    await ReadAsync(holding).ConfigureAwait(false);
                    error = "stream ended";
                }
                catch (Exception ex) when (!holding.IsCancellationRequested)
                {
                    // HttpClient reports a connect timeout as a cancellation that nobody asked for.
                    error = ex is OperationCanceledException ? "connection timed out" : Describe(ex);
                }

                holding.ThrowIfCancellationRequested();
                failures = _attemptHealthy ? 1 : failures + 1;
                var delay = ReconnectBackoff.Delay(failures, Timing.ReconnectInitialDelay, Timing.ReconnectMaxDelay, Random.Shared.NextDouble());
                State.Disconnected(error, reconnecting: true, _client.TokensFetched);
                _metrics.ConnectorConnected(_source.Id, connected: false);
                _metrics.ConnectorReconnect(_source.Id);
                Log.Reconnecting(_logger, _source.Id, error, delay.TotalSeconds);
                await Task.Delay(delay, _time, holding).ConfigureAwait(false);
            }
        }
        finally
        {
            _metrics.ConnectorConnected(_source.Id, connected: false);
        }
    }

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        long? connectedAt = null;
        try
        {
            await foreach (var item in _client.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                switch (item.Kind)
                {
                    case ConnectorItemKind.Connected:
                        connectedAt = _time.GetTimestamp();
                        State.Connected(_client.TokensFetched);
                        _metrics.ConnectorConnected(_source.Id, connected: true);
                        Log.Connected(_logger, _source.Id, item.Detail);
                        break;
                    case ConnectorItemKind.Event:
                        await AcceptAsync(item, cancellationToken).ConfigureAwait(false);
                        _attemptHealthy = true;
                        break;
                    case ConnectorItemKind.Skipped:
                        Log.Skipped(_logger, _source.Id, item.Detail);
                        State.Failed($"skipped {item.Detail}");
                        break;
                }
            }
        }
        finally
        {
            _attemptHealthy |= connectedAt is { } at && _time.GetElapsedTime(at) >= StableAfter;
        }
    }

    /// <summary>Stores one event; while the store is down, retries it (the stream waits) until the lease is lost.</summary>
    private async Task AcceptAsync(ConnectorItem item, CancellationToken cancellationToken)
    {
        var incoming = item.Event!;
        var origin = new EventOrigin("POST", "", item.ContentType, [], incoming.Body ?? []);
        for (var failures = 1; ; failures++)
        {
            var source = _currentSource() ?? _source;
            using var span = new IngestSpan(_metrics, _counters, source.Id, ActivityKind.Consumer);
            try
            {
                var summary = await _acceptor.AcceptAsync(source, [incoming], origin, _time.GetUtcNow()).ConfigureAwait(false);
                span.End(summary.Outcome);
                State.EventReceived();
                Log.EventAccepted(_logger, source.Id, item.Detail, IngestSpan.MetricName(summary.Outcome));
                return;
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                span.End(IngestOutcome.Unavailable);
                State.Failed($"store unavailable: {ex.GetType().Name}");
                var delay = ReconnectBackoff.Delay(failures, Timing.ReconnectInitialDelay, Timing.ReconnectMaxDelay, Random.Shared.NextDouble());
                Log.StoreUnavailable(_logger, source.Id, item.Detail, ex.GetType().Name, delay.TotalSeconds);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // Exception messages can quote URLs (the stream's, or a presigned one in an error frame): never their query strings.
    private static string Describe(Exception ex) => Redaction.RedactUrlQueries(ex switch
    {
        ConnectorException or TimeoutException => ex.Message,
        HttpRequestException http when http.HttpRequestError != HttpRequestError.Unknown => $"{http.HttpRequestError}: {http.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    });

    private static partial class Log
    {
        [LoggerMessage(5001, LogLevel.Information, "Source {Source}: connector started ({Settings}), replica {Owner}.")]
        public static partial void Starting(ILogger logger, string source, string settings, string owner);

        [LoggerMessage(5007, LogLevel.Information, "Source {Source}: stream open ({Format}).")]
        public static partial void Connected(ILogger logger, string source, string format);

        [LoggerMessage(5008, LogLevel.Warning, "Source {Source}: stream closed ({Reason}); reconnecting in {Seconds:0.##} s.")]
        public static partial void Reconnecting(ILogger logger, string source, string reason, double seconds);

        [LoggerMessage(5009, LogLevel.Debug, "Source {Source}: {Event}: {Outcome}.")]
        public static partial void EventAccepted(ILogger logger, string source, string @event, string outcome);

        [LoggerMessage(5010, LogLevel.Warning, "Source {Source}: skipped {What}.")]
        public static partial void Skipped(ILogger logger, string source, string what);

        [LoggerMessage(5011, LogLevel.Warning, "Source {Source}: store unavailable for {Event} ({Error}); retrying in {Seconds:0.##} s.")]
        public static partial void StoreUnavailable(ILogger logger, string source, string @event, string error, double seconds);

        [LoggerMessage(5012, LogLevel.Information, "Source {Source}: connector stopped.")]
        public static partial void Stopped(ILogger logger, string source);
    }
}
