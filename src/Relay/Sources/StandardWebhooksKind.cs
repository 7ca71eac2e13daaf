using Relay.Verification;

namespace Relay.Sources;

/// <summary>
/// Any Standard Webhooks 1.0 sender: <c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature: v1,&lt;base64&gt;</c>.
/// The <c>webhook-id</c> is the dedupe key; the body's <c>type</c> is the event type.
/// </summary>
internal sealed class StandardWebhooksKind : ISourceKind
{
    public string Name => "standard-webhooks";

    public AckConfig DefaultAck { get; } = new(200, null, "");

    public ISourceHandler? Create(string path, IKindSettings settings)
    {
        var secret = settings.RequiredString("secret", "Set it to the sender's signing secret, e.g. secret: ${WHSEC} holding whsec_...");
        var tolerance = settings.Duration("tolerance", StandardWebhooks.DefaultTolerance, min: TimeSpan.FromSeconds(1), max: HmacKind.MaxTolerance);
        if (secret.Length == 0)
        {
            return null;
        }

        if (!StandardWebhooks.TryDecodeSecret(secret, out var key))
        {
            settings.Error("secret", "is not a Standard Webhooks secret. Use the whsec_<base64> value the sender shows.");
            return null;
        }

        return new Handler(key, tolerance);
    }

    private sealed class Handler(byte[] key, TimeSpan tolerance) : ISourceHandler
    {
        public IReadOnlyList<string> Methods { get; } = ["POST"];

        public SourceVerdict Read(IngressRequest request)
        {
            var verified = StandardWebhooks.Verify(key, request.Headers, request.Body, request.ReceivedAt, tolerance);
            if (!verified.IsValid)
            {
                return SourceVerdict.Unauthorized(verified.Failure!);
            }

            if (JsonBody.Parse(request.Body, out var document) is { } rejected)
            {
                return rejected;
            }

            using (document)
            {
                var id = request.Headers[StandardWebhooks.IdHeader].ToString();
                var type = JsonBody.GetString(document.RootElement, "type") ?? "";
                return SourceVerdict.Accept(new IncomingEvent(id, type, [], id));
            }
        }
    }
}
