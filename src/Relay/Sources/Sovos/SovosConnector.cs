using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Relay.Configuration;
using Relay.Ingress;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Sources.Sovos;

/// <summary>
/// Runs one <c>sovos-sse</c> source: waits for the store lease (one stream per cluster), then keeps the stream open,
/// reopening it with backoff and jitter, and accepts every notification as an event. Renews the lease every third of
/// its time to live and stops streaming the moment a renewal fails, so two replicas never stream at once.
/// </summary>
internal sealed partial class SovosConnector : IDisposable
{
    /// <summary>An open stream that lasted this long counts as healthy: the next failure starts the backoff over.</summary>
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(10);

    private readonly SourceConfig _source;
    private readonly SovosSseConfig _config;
    private readonly Func<SourceConfig?> _currentSource;
    private readonly EventAcceptor _acceptor;
    private readonly RelayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SocketsHttpHandler _handler;
    private readonly HttpClient _streamClient;
    private readonly HttpClient _tokenClient;
    private readonly SovosTokenClient _tokens;
    private readonly StoreLease _lease;
    private bool _attemptHealthy;

    /// <param name="currentSource">The source as the config in force describes it now (routes may change on reload), or null once removed.</param>
    public SovosConnector(
        SourceConfig source,
        SovosSseConfig config,
        Func<SourceConfig?> currentSource,
        EventAcceptor acceptor,
        StoreConnection connection,
        RelayMetrics metrics,
        TimeProvider time,
        ILogger logger)
    {
        _source = source;
        _config = config;
        _currentSource = currentSource;
        _acceptor = acceptor;
        _metrics = metrics;
        _time = time;
        _logger = logger;

        // One handler per source; redirects, cookies and decompression off: the stream goes exactly where configured.
        _handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        _streamClient = new HttpClient(_handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        _tokenClient = new HttpClient(_handler, disposeHandler: false) { Timeout = TimeSpan.FromSeconds(30) };
        _tokens = new SovosTokenClient(_tokenClient, config, time);
        var owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
        _lease = new StoreLease(connection, connection.Keys.ConnectorLease(source.Id), owner);
        State = new SovosConnectorState(source.Id, owner, time);
    }

    public SovosConnectorState State { get; }

    public SovosSseConfig Config => _config;

    private TimeSpan RenewInterval => _config.LeaseTtl / 3;

    public async Task RunAsync(CancellationToken stopping)
    {
        Log.Starting(_logger, _source.Id, _config.ToString(), State.Status.Owner);
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                if (await TryTakeLeaseAsync().ConfigureAwait(false))
                {
                    await HoldAsync(stopping).ConfigureAwait(false);
                }
                else
                {
                    // A standby polls as often as the holder renews, so it takes over soon after the lease runs out.
                    await Task.Delay(RenewInterval, _time, stopping).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shut down, or the source was removed or changed.
        }
        finally
        {
            State.Stop();
            _metrics.SseConnected(_source.Id, connected: false);
            Log.Stopped(_logger, _source.Id);
        }
    }

    public void Dispose()
    {
        _tokens.Dispose();
        _streamClient.Dispose();
        _tokenClient.Dispose();
        _handler.Dispose();
    }

    private async Task<bool> TryTakeLeaseAsync()
    {
        try
        {
            if (await _lease.TryAcquireAsync(_config.LeaseTtl).ConfigureAwait(false))
            {
                State.BecomeHolder();
                Log.LeaseTaken(_logger, _source.Id, _lease.Owner);
                return true;
            }

            var holder = await _lease.HolderAsync().ConfigureAwait(false);
            if (State.Status.Role != ConnectorRole.Standby || State.Status.LeaseHolder != holder)
            {
                Log.Standby(_logger, _source.Id, holder ?? "nobody");
            }

            State.BecomeStandby(holder);
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            State.BecomeStandby(null, $"store unavailable: {ex.GetType().Name}");
            Log.LeaseCheckFailed(_logger, _source.Id, ex.GetType().Name);
        }

        return false;
    }

    private async Task HoldAsync(CancellationToken stopping)
    {
        using var holding = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var renewing = RenewUntilLostAsync(holding);
        try
        {
            await StreamAsync(holding.Token).ConfigureAwait(false);
        }
        catch (Exception) when (holding.IsCancellationRequested)
        {
            // Lease lost or shutting down: whatever the cut-off read threw, the stream is closed by now.
        }
        finally
        {
            await holding.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
            _metrics.SseConnected(_source.Id, connected: false);
        }

        if (stopping.IsCancellationRequested)
        {
            await ReleaseAsync().ConfigureAwait(false);
        }
        else
        {
            State.BecomeStandby(null);
        }
    }

    private async Task RenewUntilLostAsync(CancellationTokenSource holding)
    {
        while (true)
        {
            try
            {
                await Task.Delay(RenewInterval, _time, holding.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            string? failure = null;
            try
            {
                if (!await _lease.RenewAsync(_config.LeaseTtl).ConfigureAwait(false))
                {
                    failure = "another replica holds it now";
                }
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                failure = $"store unavailable: {ex.GetType().Name}";
            }

            if (failure is not null && !holding.IsCancellationRequested)
            {
                // Stop at once: past this point another replica may take the lease, and two streams must never run.
                Log.LeaseLost(_logger, _source.Id, failure);
                State.Failed($"lease lost: {failure}");
                await holding.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    private async Task ReleaseAsync()
    {
        try
        {
            // A standby takes over on its next poll instead of waiting for the lease to run out.
            await _lease.ReleaseAsync().ConfigureAwait(false);
            Log.LeaseReleased(_logger, _source.Id);
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            Log.LeaseCheckFailed(_logger, _source.Id, ex.GetType().Name);
        }
    }

    private async Task StreamAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            string error;
            _attemptHealthy = false;
            try
            {
                await ConnectAndReadAsync(cancellationToken).ConfigureAwait(false);
                error = "stream ended";
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // HttpClient reports a connect timeout as a cancellation that nobody asked for.
                error = ex is OperationCanceledException ? "connection timed out" : Describe(ex);
            }

            cancellationToken.ThrowIfCancellationRequested();
            failures = _attemptHealthy ? 1 : failures + 1;
            var delay = ReconnectBackoff.Delay(failures, _config.ReconnectInitialDelay, _config.ReconnectMaxDelay, Random.Shared.NextDouble());
            State.Disconnected(error, reconnecting: true, _tokens.Fetched);
            _metrics.SseConnected(_source.Id, connected: false);
            _metrics.SseReconnect(_source.Id);
            Log.Reconnecting(_logger, _source.Id, error, delay.TotalSeconds);
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ConnectAndReadAsync(CancellationToken cancellationToken)
    {
        var token = await _tokens.GetAsync(cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Get, _config.Url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _streamClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            _tokens.Invalidate(token);
            throw new SovosStreamException("stream answered 401: the token was refused, a new one is fetched");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new SovosStreamException($"stream answered {(int)response.StatusCode}");
        }

        var sse = SovosStreamReader.IsSse(_config.Format, response.Content.Headers.ContentType?.MediaType);
        var connectedAt = _time.GetTimestamp();
        State.Connected(_tokens.Fetched);
        _metrics.SseConnected(_source.Id, connected: true);
        Log.Connected(_logger, _source.Id, sse ? "sse" : "ndjson");
        try
        {
            await using var body = new IdleTimeoutStream(
                await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), _config.IdleTimeout, _time);
            await foreach (var message in SovosStreamReader.ReadAsync(body, sse, cancellationToken).ConfigureAwait(false))
            {
                var frame = message.EventType == "error"
                    ? new SovosFrame(SovosFrameKind.Error, Detail: System.Text.Encoding.UTF8.GetString(message.Data))
                    : SovosFrame.Parse(message.Data);
                switch (frame.Kind)
                {
                    case SovosFrameKind.Event:
                        await AcceptAsync(frame, message.Data, cancellationToken).ConfigureAwait(false);
                        _attemptHealthy = true;
                        break;
                    case SovosFrameKind.Error:
                        throw new SovosStreamException($"error frame ({frame.Detail})");
                    case SovosFrameKind.Invalid:
                        Log.InvalidFrame(_logger, _source.Id, message.Data.Length);
                        State.Failed($"skipped a frame that is not JSON ({message.Data.Length} bytes)");
                        break;
                }
            }
        }
        finally
        {
            _attemptHealthy |= _time.GetElapsedTime(connectedAt) >= StableAfter;
        }
    }

    /// <summary>Stores one notification; while the store is down, retries it (the stream waits) until the lease is lost.</summary>
    private async Task AcceptAsync(SovosFrame frame, byte[] data, CancellationToken cancellationToken)
    {
        var incoming = new IncomingEvent($"{frame.EnvelopeId}:{frame.Status}", frame.Status, [], frame.EnvelopeId);
        var origin = new EventOrigin("POST", "", "application/json", [], data);
        for (var failures = 1; ; failures++)
        {
            var source = _currentSource() ?? _source;
            var started = Stopwatch.GetTimestamp();
            using var activity = RelayMetrics.ActivitySource.StartActivity("relay.ingest", ActivityKind.Consumer);
            activity?.SetTag("relay.source", source.Id);
            try
            {
                var summary = await _acceptor.AcceptAsync(source, [incoming], origin, _time.GetUtcNow()).ConfigureAwait(false);
                activity?.SetTag("relay.outcome", summary.Outcome);
                _metrics.IngestRequest(source.Id, summary.Outcome, Stopwatch.GetElapsedTime(started));
                State.EventReceived();
                Log.EventAccepted(_logger, source.Id, frame.EnvelopeId, frame.Status, summary.Outcome);
                return;
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                activity?.SetTag("relay.outcome", "unavailable");
                _metrics.IngestRequest(source.Id, "unavailable", Stopwatch.GetElapsedTime(started));
                State.Failed($"store unavailable: {ex.GetType().Name}");
                var delay = ReconnectBackoff.Delay(failures, _config.ReconnectInitialDelay, _config.ReconnectMaxDelay, Random.Shared.NextDouble());
                Log.StoreUnavailable(_logger, source.Id, frame.EnvelopeId, frame.Status, ex.GetType().Name, delay.TotalSeconds);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // Exception messages can quote URLs (the stream's or a presigned one in an error frame): never their query strings.
    private static string Describe(Exception ex) => Redaction.RedactUrlQueries(ex switch
    {
        SovosStreamException or SovosTokenException or TimeoutException => ex.Message,
        HttpRequestException http when http.HttpRequestError != HttpRequestError.Unknown => $"{http.HttpRequestError}: {http.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    });

    private static partial class Log
    {
        [LoggerMessage(5001, LogLevel.Information, "Source {Source}: connector started ({Settings}), replica {Owner}.")]
        public static partial void Starting(ILogger logger, string source, string settings, string owner);

        [LoggerMessage(5002, LogLevel.Information, "Source {Source}: lease taken by this replica ({Owner}); opening the stream.")]
        public static partial void LeaseTaken(ILogger logger, string source, string owner);

        [LoggerMessage(5003, LogLevel.Information, "Source {Source}: standby, the stream is held by {Holder}.")]
        public static partial void Standby(ILogger logger, string source, string holder);

        [LoggerMessage(5004, LogLevel.Warning, "Source {Source}: lease lost ({Reason}); stream closed.")]
        public static partial void LeaseLost(ILogger logger, string source, string reason);

        [LoggerMessage(5005, LogLevel.Warning, "Source {Source}: cannot reach the store for the lease ({Error}).")]
        public static partial void LeaseCheckFailed(ILogger logger, string source, string error);

        [LoggerMessage(5006, LogLevel.Information, "Source {Source}: lease released.")]
        public static partial void LeaseReleased(ILogger logger, string source);

        [LoggerMessage(5007, LogLevel.Information, "Source {Source}: stream open ({Format}).")]
        public static partial void Connected(ILogger logger, string source, string format);

        [LoggerMessage(5008, LogLevel.Warning, "Source {Source}: stream closed ({Reason}); reconnecting in {Seconds:0.##} s.")]
        public static partial void Reconnecting(ILogger logger, string source, string reason, double seconds);

        [LoggerMessage(5009, LogLevel.Debug, "Source {Source}: envelope {EnvelopeId} status {Status}: {Outcome}.")]
        public static partial void EventAccepted(ILogger logger, string source, string envelopeId, string status, string outcome);

        [LoggerMessage(5010, LogLevel.Warning, "Source {Source}: skipped a frame that is not JSON ({Bytes} bytes).")]
        public static partial void InvalidFrame(ILogger logger, string source, int bytes);

        [LoggerMessage(5011, LogLevel.Warning, "Source {Source}: store unavailable for envelope {EnvelopeId} status {Status} ({Error}); retrying in {Seconds:0.##} s.")]
        public static partial void StoreUnavailable(ILogger logger, string source, string envelopeId, string status, string error, double seconds);

        [LoggerMessage(5012, LogLevel.Information, "Source {Source}: connector stopped.")]
        public static partial void Stopped(ILogger logger, string source);
    }
}

/// <summary>The stream refused us or failed; the message is safe to log once URLs are redacted.</summary>
internal sealed class SovosStreamException(string message) : Exception(message);
