using System.Text;
using Relay.Verification;

namespace Relay.Sources;

/// <summary>
/// Yousign API v3: JSON POST signed with <c>X-Yousign-Signature-256: sha256=&lt;hex HMAC-SHA256(secret, body)&gt;</c>.
/// Retries (X-Yousign-Retry, or X-Yousign-Retry-Count in older docs) repeat the same <c>event_id</c> over about 3.1 days,
/// which the default 7-day dedupe window covers.
/// </summary>
internal sealed class YousignKind : ISourceKind
{
    private static readonly HmacScheme Scheme = new(
        Header: "X-Yousign-Signature-256",
        Algorithm: HmacAlgorithm.Sha256,
        Encoding: SignatureEncoding.Hex,
        Prefix: "sha256=",
        Template: "{body}",
        TimestampHeader: null,
        Tolerance: TimeSpan.FromMinutes(5),
        IdHeader: null);

    public string Name => "yousign";

    public AckConfig DefaultAck { get; } = new(200, null, "");

    public ISourceHandler? Create(string path, IKindSettings settings)
    {
        var secret = settings.RequiredString("secret", "Set it to the webhook secret shown in Yousign's webhook settings, e.g. secret: ${YOUSIGN_SECRET}.");
        return secret.Length == 0 ? null : new Handler(new HmacVerifier(Scheme, Encoding.UTF8.GetBytes(secret)));
    }

    private sealed class Handler(HmacVerifier verifier) : ISourceHandler
    {
        public IReadOnlyList<string> Methods { get; } = ["POST"];

        public SourceVerdict Read(IngressRequest request)
        {
            return JsonBody.Read(request, verifier, static root =>
            {
                var eventId = JsonBody.GetString(root, "event_id");
                var eventName = JsonBody.GetString(root, "event_name");
                if (string.IsNullOrEmpty(eventId) || string.IsNullOrEmpty(eventName))
                {
                    return SourceVerdict.BadRequest("event_id and event_name are required");
                }

                // Events of one signature request share a partition, so an operator sees them in order.
                var ordering = JsonBody.GetString(root, "data.signature_request.id") ?? eventId;
                IReadOnlyList<string> tags = JsonBody.GetString(root, "sandbox") == "true" ? ["sandbox"] : [];
                return SourceVerdict.Accept(new IncomingEvent(eventId, eventName, tags, ordering));
            });
        }
    }
}
