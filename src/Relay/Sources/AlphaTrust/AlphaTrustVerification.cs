using System.Net;
using System.Text;
using Relay.Outbound;
using Relay.Verification;

namespace Relay.Sources.AlphaTrust;

/// <summary>
/// Optional deferred check: the callback's <c>ps_securitytoken</c> can only be checked by calling AlphaTrust's API, which
/// does not fit inside the 10 s the vendor waits for its ack. So the relay acks first, then, before the first delivery,
/// POSTs the callback's fields (form-urlencoded, as received) to an operator-run endpoint that makes that call.
/// 2xx = genuine; any other 4xx except 408 and 429 = not genuine (quarantined); anything else = ask again later.
/// </summary>
internal sealed class AlphaTrustVerification(Uri url, TimeSpan timeout) : IDeferredCheck
{
    private const string TokenField = "ps_securitytoken";
    private const int MaxReasonChars = 200;
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The longest timeout allowed: the check runs inside a delivery's lease.</summary>
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(30);

    // One connection pool for every verification endpoint: checks are rebuilt on each config reload, a pool is not.
    private static readonly HttpClient Client = OutboundHttp.CreateClient(OutboundHttp.CreateHandler(MaxTimeout));

    public static AlphaTrustVerification? Read(IKindSettings verify)
    {
        var url = verify.HttpUrl("url", "Set the address of the endpoint that checks ps_securitytoken, e.g. url: http://esign-check.internal/alphatrust.");
        var timeout = verify.Duration("timeout", DefaultTimeout, min: TimeSpan.FromMilliseconds(100), max: MaxTimeout);
        return url is null ? null : new AlphaTrustVerification(url, timeout);
    }

    public async Task<DeferredVerdict> CheckAsync(DeferredRequest request, CancellationToken cancellationToken)
    {
        if (!AlphaTrustFields.TryRead(request.Method, request.QueryString, request.Body, out var fields, out _) || FormBody.Single(fields, TokenField) is null)
        {
            return DeferredVerdict.Reject($"the callback carries no {TokenField}");
        }

        var form = HttpMethods.IsGet(request.Method) ? Encoding.UTF8.GetBytes(request.QueryString.TrimStart('?')) : request.Body;
        using var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(form) };
        message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-www-form-urlencoded");
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            using var response = await Client.SendAsync(message, timeoutSource.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return DeferredVerdict.Pass;
            }

            if (status is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests))
            {
                var said = await response.Content.ReadAsStringAsync(timeoutSource.Token).ConfigureAwait(false);
                return DeferredVerdict.Reject($"verification endpoint answered HTTP {status}{Summary(said)}");
            }

            return DeferredVerdict.Unavailable($"verification endpoint answered HTTP {status}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DeferredVerdict.Unavailable($"verification endpoint timed out after {timeout.TotalSeconds:0.###} s");
        }
        catch (HttpRequestException ex)
        {
            return DeferredVerdict.Unavailable($"verification endpoint unreachable: {ex.HttpRequestError}");
        }
    }

    private static string Summary(string reply)
    {
        var line = reply.ReplaceLineEndings(" ").Trim();
        return line.Length == 0 ? "" : $": {(line.Length > MaxReasonChars ? line[..MaxReasonChars] : line)}";
    }
}
