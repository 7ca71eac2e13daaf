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
/// every event through the same accept path as webhook ingress, retrying while the store is down. An event read off the
/// stream is kept until it is stored: losing the lease, a reload or a shutdown stops the reading, not the storing.
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

    /// <param name="stopping">Stop reading: shutdown, or the source was removed or changed.</param>
    /// <param name="outOfTime">
    /// The host has no shutdown time left: give up the event in hand, if it is still not stored, and log it as lost.
    /// Until then an event that was read is retried until it is stored, however long the store is down.
    /// </param>
    public async Task RunAsync(CancellationToken stopping, CancellationToken outOfTime)
    {
        Log.Starting(_logger, _source.Id, Settings.ToString() ?? _source.Kind, State.Status.Owner);

        // Every replica reports the gauge from the start, 0 until it has the stream open: "no replica has it open"
        // is then a 0 on every replica, also while the holder is still connecting or never got through.
        _metrics.ConnectorConnected(_source.Id, connected: false);

        try
        {
            await _lease.RunAsync(holding => StreamAsync(holding, outOfTime), stopping).ConfigureAwait(false);
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
    private async Task StreamAsync(CancellationToken holding, CancellationToken outOfTime)
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
                    await ReadAsync(holding, outOfTime).ConfigureAwait(false);
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

    private async Task ReadAsync(CancellationToken holding, CancellationToken outOfTime)
    {
        long? connectedAt = null;
        Task? unfinished = null;
        try
        {
            await foreach (var item in _client.ReadAsync(holding).ConfigureAwait(false))
            {
                if (item.Kind == ConnectorItemKind.Event)
                {
                    var storing = AcceptAsync(item, outOfTime);
                    await storing.WaitAsync(holding).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    if (!storing.IsCompleted)
                    {
                        // Lease lost or stopping with the event still not stored: close the stream at once (another
                        // replica may take the lease, and two streams never run), and finish storing it below.
                        Log.KeepingEvent(_logger, _source.Id, item.Detail);
                        unfinished = storing;
                        break;
                    }

                    await storing.ConfigureAwait(false);
                    _attemptHealthy = true;
                    holding.ThrowIfCancellationRequested();
                    continue;
                }

                switch (item.Kind)
                {
                    case ConnectorItemKind.Connected:
                        connectedAt = _time.GetTimestamp();
                        State.Connected(_client.TokensFetched);
                        _metrics.ConnectorConnected(_source.Id, connected: true);
                        Log.Connected(_logger, _source.Id, item.Detail);
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

        if (unfinished is not null)
        {
            _metrics.ConnectorConnected(_source.Id, connected: false);
            await unfinished.ConfigureAwait(false);
            holding.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Stores one event read off the stream; while the store is down, retries it (the stream waits) until it is stored.
    /// The vendor will not send it again, so neither a lost lease nor a stop ends the retries: another replica that
    /// takes over may read the same event again, and dedupe drops that copy. Only <paramref name="outOfTime"/> does,
    /// and the event is then logged as lost.
    /// </summary>
    private async Task AcceptAsync(ConnectorItem item, CancellationToken outOfTime)
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
                try
                {
                    await Task.Delay(delay, _time, outOfTime).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (outOfTime.IsCancellationRequested)
                {
                    State.Failed($"{item.Detail} lost: the store was unreachable until shutdown");
                    Log.EventLost(_logger, source.Id, item.Detail);
                    return;
                }
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

        [LoggerMessage(5013, LogLevel.Warning, "Source {Source}: stream closed with {Event} read but not stored yet: it is kept, and stored as soon as the store is back.")]
        public static partial void KeepingEvent(ILogger logger, string source, string @event);

        [LoggerMessage(5014, LogLevel.Error, "Source {Source}: {Event} LOST: read off the stream, but the store was unreachable until the host's shutdown time ran out. The vendor will not send it again; reconcile it with the vendor.")]
        public static partial void EventLost(ILogger logger, string source, string @event);
    }
}
