using System.Net;
using System.Text;
using Relay.Configuration;

namespace Relay.Sources.AlphaTrust;

/// <summary>
/// Optional delivery gate: the callback's <c>ps_securitytoken</c> can only be checked by calling AlphaTrust's API, which
/// does not fit inside the 10 s the vendor waits for its ack. So the relay acks first, then, before the first delivery,
/// POSTs the callback's fields (form-urlencoded, as received) to an operator-run endpoint that makes that call.
/// 2xx = genuine; any other 4xx except 408 and 429 = not genuine (quarantined); anything else = ask again later.
/// </summary>
internal sealed class AlphaTrustVerification(Uri url, TimeSpan timeout) : IDeliveryGate
{
    private const string TokenField = "ps_securitytoken";
    private const int MaxReasonChars = 200;
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(30);

    // One connection pool for every verification endpoint: handlers are rebuilt on each config reload, a pool is not.
    private static readonly HttpClient Client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public static AlphaTrustVerification? Read(ConfigReader verify)
    {
        var text = verify.RequiredString("url", "Set the address of the endpoint that checks ps_securitytoken, e.g. url: http://esign-check.internal/alphatrust.");
        var timeout = verify.Duration("timeout", TimeSpan.FromSeconds(5), min: TimeSpan.FromMilliseconds(100));
        if (timeout > MaxTimeout)
        {
            verify.Error("timeout", $"{Durations.Format(timeout)} is too long; use at most {Durations.Format(MaxTimeout)}, since the check runs inside a delivery's lease.");
        }

        if (text.Length == 0)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            verify.Error("url", $"'{text}' is not an absolute http or https URL.");
            return null;
        }

        return new AlphaTrustVerification(url, timeout);
    }

    public async Task<GateVerdict> CheckAsync(GatedRequest request, CancellationToken cancellationToken)
    {
        if (!AlphaTrustFields.TryRead(request.Method, request.QueryString, request.Body, out var fields) || FormBody.Single(fields, TokenField) is null)
        {
            return GateVerdict.Reject($"the callback carries no {TokenField}");
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
                return GateVerdict.Pass;
            }

            if (status is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests))
            {
                var said = await response.Content.ReadAsStringAsync(timeoutSource.Token).ConfigureAwait(false);
                return GateVerdict.Reject($"verification endpoint answered HTTP {status}{Summary(said)}");
            }

            return GateVerdict.Unavailable($"verification endpoint answered HTTP {status}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return GateVerdict.Unavailable($"verification endpoint timed out after {Durations.Format(timeout)}");
        }
        catch (HttpRequestException ex)
        {
            return GateVerdict.Unavailable($"verification endpoint unreachable: {ex.HttpRequestError}");
        }
    }

    private static string Summary(string reply)
    {
        var line = reply.ReplaceLineEndings(" ").Trim();
        return line.Length == 0 ? "" : $": {(line.Length > MaxReasonChars ? line[..MaxReasonChars] : line)}";
    }
}
