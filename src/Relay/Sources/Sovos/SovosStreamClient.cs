using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using Relay.Outbound;

namespace Relay.Sources.Sovos;

/// <summary>
/// One <c>sovos-sse</c> source's link to Sovos: fetches (and caches) an OAuth2 token, opens the stream with it, and turns
/// each notification into an event whose dedupe key is envelope + status and whose ordering key is the envelope.
/// Heartbeats are skipped silently, frames that are not JSON are reported as skipped, an error frame fails the stream.
/// </summary>
internal sealed class SovosStreamClient : IConnectorClient
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan TokenRequestTimeout = TimeSpan.FromSeconds(30);

    private readonly SovosSseConfig _config;
    private readonly TimeProvider _time;
    private readonly SocketsHttpHandler _handler;
    private readonly HttpClient _streamClient;
    private readonly HttpClient _tokenClient;
    private readonly SovosTokenClient _tokens;

    public SovosStreamClient(SovosSseConfig config, TimeProvider time)
    {
        _config = config;
        _time = time;

        // One pool per source for the stream and its token endpoint.
        _handler = OutboundHttp.CreateHandler(ConnectTimeout);
        _streamClient = OutboundHttp.CreateClient(_handler, disposeHandler: false);
        _tokenClient = OutboundHttp.CreateClient(_handler, disposeHandler: false);
        _tokenClient.Timeout = TokenRequestTimeout;
        _tokens = new SovosTokenClient(_tokenClient, config, time);
    }

    public int TokensFetched => _tokens.Fetched;

    public async IAsyncEnumerable<ConnectorItem> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var token = await _tokens.GetAsync(cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Get, _config.Url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await OpenAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            _tokens.Invalidate(token);
            throw new ConnectorException("stream answered 401: the token was refused, a new one is fetched");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new ConnectorException($"stream answered {(int)response.StatusCode}");
        }

        var sse = SovosStreamReader.IsSse(_config.Format, response.Content.Headers.ContentType?.MediaType);
        yield return ConnectorItem.Connected(sse ? "sse" : "ndjson");
        var body = new IdleTimeoutStream(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), _config.IdleTimeout, _time);
        await using (body.ConfigureAwait(false))
        {
            await foreach (var message in SovosStreamReader.ReadAsync(body, sse, _config.MaxFrameBytes, cancellationToken).ConfigureAwait(false))
            {
                var frame = message.EventType == "error"
                    ? new SovosFrame(SovosFrameKind.Error, Detail: Encoding.UTF8.GetString(message.Data))
                    : SovosFrame.Parse(message.Data);
                switch (frame.Kind)
                {
                    case SovosFrameKind.Event:
                        var incoming = new IncomingEvent($"{frame.EnvelopeId}:{frame.Status}", frame.Status, [], frame.EnvelopeId, message.Data);
                        yield return ConnectorItem.Received(incoming, "application/json", $"envelope {frame.EnvelopeId} status {frame.Status}");
                        break;
                    case SovosFrameKind.Error:
                        throw new ConnectorException($"error frame ({frame.Detail})");
                    case SovosFrameKind.Invalid:
                        yield return ConnectorItem.Skipped($"a frame that is not JSON ({message.Data.Length} bytes)");
                        break;
                }
            }
        }
    }

    /// <summary>
    /// Sends the stream request and waits for the response headers, no longer than the configured timeout: a peer that
    /// accepts the connection but never answers would otherwise hold the connector, lease and all, forever.
    /// </summary>
    private async Task<HttpResponseMessage> OpenAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var headers = new CancellationTokenSource(_config.ResponseHeadersTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, headers.Token);
        try
        {
            return await _streamClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (headers.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ConnectorException($"no response headers within {_config.ResponseHeadersTimeout.TotalSeconds:0.#} s (responseHeadersTimeout)");
        }
    }

    public void Dispose()
    {
        _tokens.Dispose();
        _streamClient.Dispose();
        _tokenClient.Dispose();
        _handler.Dispose();
    }
}
