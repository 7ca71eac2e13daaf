using System.Globalization;
using System.Text;
using Relay.Verification;

namespace Relay.Sources;

/// <summary>
/// Signicat Events Management: JSON POST <c>{id, sender, eventName, eventData, tags, expiresAt, ...}</c>, authenticated by
/// HMAC-SHA256 with the subscription secret. Signicat does not publish the header, encoding or signed content, so they
/// are configurable (the generic hmac keys) with a guessed default: hex HMAC-SHA256 of the raw body in
/// <c>X-Signicat-Signature</c>. The event type is <c>sender:eventName</c>, so Signicat's own filters
/// (<c>signature-api:*</c>) work as route globs; <c>id</c> is the dedupe key.
/// </summary>
internal sealed class SignicatKind : ISourceKind
{
    private static readonly HmacScheme Defaults = new(
        Header: "X-Signicat-Signature",
        Algorithm: HmacAlgorithm.Sha256,
        Encoding: SignatureEncoding.Hex,
        Prefix: "",
        Template: "{body}",
        TimestampHeader: null,
        Tolerance: TimeSpan.FromMinutes(5),
        IdHeader: null);

    public string Name => "signicat";

    public AckConfig DefaultAck { get; } = new(200, null, "");

    public ISourceHandler? Create(string path, IKindSettings settings)
    {
        var scheme = HmacKind.ReadScheme(settings, Defaults);
        var secret = settings.RequiredString("secret", "Set it to the secret of the Signicat event subscription, e.g. secret: ${SIGNICAT_SECRET}.");
        var dropExpired = settings.Bool("dropExpired", false);
        return scheme is null || secret.Length == 0 ? null : new Handler(new HmacVerifier(scheme, Encoding.UTF8.GetBytes(secret)), dropExpired);
    }

    /// <summary>The tag an event gets when it arrived after its <c>expiresAt</c>.</summary>
    public const string ExpiredTag = "expired";

    private sealed class Handler(HmacVerifier verifier, bool dropExpired) : ISourceHandler
    {
        public IReadOnlyList<string> Methods { get; } = ["POST"];

        public SourceVerdict Read(IngressRequest request)
        {
            return JsonBody.Read(request, verifier, root =>
            {
                var id = JsonBody.GetString(root, "id");
                var sender = JsonBody.GetString(root, "sender");
                var eventName = JsonBody.GetString(root, "eventName");
                if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(sender) || string.IsNullOrEmpty(eventName))
                {
                    return SourceVerdict.BadRequest("id, sender and eventName are required");
                }

                var expiresAtText = JsonBody.GetString(root, "expiresAt");
                DateTimeOffset expiresAt = default;
                if (expiresAtText is not null
                    && !DateTimeOffset.TryParse(expiresAtText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out expiresAt))
                {
                    return SourceVerdict.BadRequest("expiresAt is not an ISO 8601 date and time");
                }

                var tags = JsonBody.GetStrings(root, "tags");
                var expired = expiresAtText is not null && expiresAt < request.ReceivedAt;
                if (expired)
                {
                    // Kept visible: an operator sees why an event that was acked went nowhere.
                    tags = [.. tags, ExpiredTag];
                }

                return SourceVerdict.Accept(new IncomingEvent(id, $"{sender}:{eventName}", tags, id, Routed: !(expired && dropExpired)));
            });
        }
    }
}
