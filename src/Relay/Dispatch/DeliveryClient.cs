using System.Diagnostics;
using System.Globalization;
using Relay.Configuration;
using Relay.Outbound;
using Relay.Store;
using Relay.Verification;

namespace Relay.Dispatch;

/// <summary>
/// Sends one stored event to one target in raw mode: the original method, query string, content type, body and
/// vendor headers (but not <c>Accept-Encoding</c>), plus <c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature</c> (when signing is set),
/// <c>X-Relay-Source</c>, <c>X-Relay-Event-Type</c> and <c>X-Relay-Attempt</c>.
/// </summary>
internal sealed class DeliveryClient : IDisposable
{
    /// <summary>How much of a reply is read to look for the success body.</summary>
    private const int MaxReplyBytes = 4096;

    private static readonly HashSet<string> Replaced = new(StringComparer.OrdinalIgnoreCase)
    {
        StandardWebhooks.IdHeader, StandardWebhooks.TimestampHeader, StandardWebhooks.SignatureHeader,
        "X-Relay-Source", "X-Relay-Event-Type", "X-Relay-Attempt", "Content-Type",
    };

    // The vendor's Accept-Encoding says what the vendor could decompress, not what Relay can: outbound decompression is
    // off, so a target honouring it would answer in gzip, and a success body could never be found in the reply.
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase) { "Accept-Encoding" };

    private readonly HttpClient _client;
    private readonly TimeProvider _time;

    public DeliveryClient(TargetConfig target, TimeProvider time, Action? connected = null)
    {
        _time = time;

        // One pool per target, as large as its concurrency, so every delivery in flight has a connection to reuse.
        _client = OutboundHttp.CreateClient(OutboundHttp.CreateHandler(connectTimeout: target.Timeout, maxConnectionsPerServer: target.Concurrency, connected));
    }

    public async Task<DeliveryResult> SendAsync(TargetConfig target, ClaimedEvent claimed, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = BuildRequest(target, claimed);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(target.Timeout);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (status is >= 200 and < 300)
            {
                if (target.SuccessBody is null)
                {
                    return new DeliveryResult(DeliveryOutcome.Delivered, status, null, null, elapsed);
                }

                var reply = await ReadReplyAsync(response, timeout.Token).ConfigureAwait(false);
                return reply.Contains(target.SuccessBody, StringComparison.OrdinalIgnoreCase)
                    ? new DeliveryResult(DeliveryOutcome.Delivered, status, null, null, Stopwatch.GetElapsedTime(started))
                    : new DeliveryResult(DeliveryOutcome.Retry, status, null, $"HTTP {status} without the success body '{target.SuccessBody}'", Stopwatch.GetElapsedTime(started));
            }

            var retryAfter = RetryAfter(response);
            return status switch
            {
                408 or 425 or 429 or >= 500 or (>= 300 and < 400) => new DeliveryResult(DeliveryOutcome.Retry, status, retryAfter, null, elapsed),
                _ => new DeliveryResult(DeliveryOutcome.Reject, status, null, null, elapsed),
            };
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return DeliveryResult.ShuttingDown(Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException)
        {
            return new DeliveryResult(DeliveryOutcome.Retry, null, null, $"timed out after {Durations.Format(target.Timeout)}", Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException ex)
        {
            return new DeliveryResult(DeliveryOutcome.Retry, null, null, ex.HttpRequestError is HttpRequestError.Unknown ? ex.Message : $"connection error: {ex.HttpRequestError}", Stopwatch.GetElapsedTime(started));
        }
    }

    public void Dispose() => _client.Dispose();

    private HttpRequestMessage BuildRequest(TargetConfig target, ClaimedEvent claimed)
    {
        var uri = claimed.QueryString.Length == 0
            ? target.Url
            : new UriBuilder(target.Url) { Query = Combine(target.Url.Query, claimed.QueryString) }.Uri;
        var request = new HttpRequestMessage(new HttpMethod(claimed.Method), uri);
        if (claimed.Body.Length > 0 || (claimed.Method != "GET" && claimed.Method != "HEAD"))
        {
            request.Content = new ByteArrayContent(claimed.Body);
            if (claimed.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", claimed.ContentType);
            }
        }

        foreach (var (name, value) in claimed.Headers)
        {
            if (Replaced.Contains(name) || NotForwarded.Contains(name))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        request.Headers.TryAddWithoutValidation(StandardWebhooks.IdHeader, claimed.Id);
        request.Headers.TryAddWithoutValidation(StandardWebhooks.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        if (target.Signing is { } signing)
        {
            request.Headers.TryAddWithoutValidation(StandardWebhooks.SignatureHeader, StandardWebhooks.Sign(signing.Key, claimed.Id, timestamp, claimed.Body));
        }

        request.Headers.TryAddWithoutValidation("X-Relay-Source", claimed.Source);
        request.Headers.TryAddWithoutValidation("X-Relay-Event-Type", claimed.Type);
        request.Headers.TryAddWithoutValidation("X-Relay-Attempt", (claimed.Attempts + 1).ToString(CultureInfo.InvariantCulture));
        return request;
    }

    private static string Combine(string targetQuery, string eventQuery) =>
        targetQuery.Length > 1 ? $"{targetQuery.TrimStart('?')}&{eventQuery.TrimStart('?')}" : eventQuery.TrimStart('?');

    private TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - _time.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    private static async Task<string> ReadReplyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxReplyBytes];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }

            return System.Text.Encoding.UTF8.GetString(buffer, 0, length);
        }
    }
}
