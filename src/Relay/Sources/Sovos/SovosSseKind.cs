namespace Relay.Sources.Sovos;

/// <summary>How the stream frames its messages. Not published by Sovos, so configurable.</summary>
internal enum SovosStreamFormat
{
    /// <summary>Decide by the response's content type: <c>text/event-stream</c> is SSE, anything else NDJSON.</summary>
    Auto,
    Sse,
    NdJson,
}

/// <summary>The settings of one <c>sovos-sse</c> source. Never printed whole: it holds the client secret.</summary>
/// <param name="IdleTimeout">A stream that sends nothing (not even a heartbeat) this long is presumed dead and reopened.</param>
/// <param name="ResponseHeadersTimeout">A stream request answered with no response headers within this time is given up and retried.</param>
/// <param name="MaxFrameBytes">A frame (an SSE event, or an NDJSON line) larger than this fails the stream, which is reopened.</param>
internal sealed record SovosSseConfig(
    Uri Url,
    Uri TokenUrl,
    string ClientId,
    string ClientSecret,
    string Audience,
    string? Scope,
    SovosStreamFormat Format,
    TimeSpan IdleTimeout,
    TimeSpan ResponseHeadersTimeout,
    int MaxFrameBytes,
    ConnectorTiming Timing) : IConnectorSettings
{
    public IConnectorClient CreateClient(TimeProvider time) => new SovosStreamClient(this, time);

    /// <summary>What logs may show: the stream's address without its query string, and the client id; never the secret.</summary>
    public override string ToString() => $"sovos-sse {Url.GetLeftPart(UriPartial.Path)} (client {ClientId})";
}

/// <summary>
/// <c>kind: sovos-sse</c>: Sovos Signer notifications, read from an outbound SSE (or NDJSON) stream authorised by an
/// OAuth2 client-credentials token. One replica of a cluster holds the stream (a lease in the store).
/// </summary>
internal sealed class SovosSseKind : IConnectorKind
{
    public const string DefaultAudience = "signer.trust.sovos.com";

    /// <summary>1 MiB: a notification is a few kilobytes; a frame this large is a broken or hostile stream.</summary>
    public const int DefaultMaxFrameBytes = 1024 * 1024;

    public string Name => "sovos-sse";

    public IConnectorSettings? Create(IKindSettings settings)
    {
        var errorsBefore = settings.Errors.Count;
        var url = settings.HttpUrl("url", "Set the stream address, e.g. url: https://signer.example/events/v1/subscribe.");
        var tokenUrl = settings.HttpUrl("tokenUrl", "Set the OAuth2 token endpoint Sovos gave you, e.g. tokenUrl: https://accounts.example/oauth2/token.");
        var clientId = settings.RequiredString("clientId", "Set the OAuth2 client id of the API client created in Sovos, e.g. clientId: ${SOVOS_CLIENT_ID}.");
        var clientSecret = settings.RequiredString("clientSecret", "Set the client's secret from the environment, e.g. clientSecret: ${SOVOS_CLIENT_SECRET}.");
        var audience = settings.String("audience", DefaultAudience)!;
        if (audience.Length == 0)
        {
            settings.Error("audience", $"is empty. Remove it to use {DefaultAudience}, or set the audience Sovos issues tokens for.");
        }

        var scope = settings.String("scope");
        var format = settings.OneOf("format", "auto", "auto", "sse", "ndjson") switch
        {
            "sse" => SovosStreamFormat.Sse,
            "ndjson" => SovosStreamFormat.NdJson,
            _ => SovosStreamFormat.Auto,
        };

        // Each duration has a ceiling, so a slip of the unit (10h for 10s) is caught at load instead of leaving the stream
        // closed for hours: after a failure, behind a dead replica's lease, or silent and undetected.
        var reconnect = settings.Section("reconnect");
        var initialDelay = reconnect.Duration("initialDelay", TimeSpan.FromSeconds(1), min: TimeSpan.FromMilliseconds(50), max: TimeSpan.FromMinutes(10));
        var maxDelay = reconnect.Duration("maxDelay", TimeSpan.FromSeconds(60), min: TimeSpan.FromMilliseconds(50), max: TimeSpan.FromHours(1));
        if (maxDelay < initialDelay)
        {
            reconnect.Error("maxDelay", $"{reconnect.String("maxDelay")} is shorter than initialDelay {reconnect.String("initialDelay") ?? "1s"}. Raise maxDelay or lower initialDelay.");
        }

        var leaseTtl = settings.Section("lease").Duration("ttl", TimeSpan.FromSeconds(10), min: TimeSpan.FromSeconds(1), max: TimeSpan.FromMinutes(5));
        var idleTimeout = settings.Duration("idleTimeout", TimeSpan.FromMinutes(5), min: TimeSpan.FromSeconds(1), max: TimeSpan.FromHours(1));
        var unhealthyAfter = settings.Duration("unhealthyAfter", TimeSpan.FromSeconds(30), min: TimeSpan.Zero, max: TimeSpan.FromHours(1));
        var responseHeadersTimeout = settings.Duration("responseHeadersTimeout", TimeSpan.FromSeconds(30), min: TimeSpan.FromSeconds(1), max: TimeSpan.FromMinutes(10));
        var maxFrameBytes = (int)settings.Long("maxFrameBytes", DefaultMaxFrameBytes, 1024, 64 * 1024 * 1024);

        return settings.Errors.Count > errorsBefore
            ? null
            : new SovosSseConfig(url!, tokenUrl!, clientId, clientSecret, audience, string.IsNullOrEmpty(scope) ? null : scope, format, idleTimeout,
                responseHeadersTimeout, maxFrameBytes, new ConnectorTiming(leaseTtl, initialDelay, maxDelay, unhealthyAfter));
    }
}
