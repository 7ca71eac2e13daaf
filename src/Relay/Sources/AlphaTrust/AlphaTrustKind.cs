using System.Security.Cryptography;
using System.Text;
using Relay.Verification;

namespace Relay.Sources.AlphaTrust;

/// <summary>
/// AlphaTrust e-Sign event subscriptions: form-urlencoded POST or GET query-string callbacks, unsigned. Authenticity
/// comes from what the relay controls: a secret token in the path (<c>/hooks/alphatrust/{token}</c>) and/or a list of
/// source addresses; at least one is required. AlphaTrust counts a delivery as failed unless the reply is 2xx
/// <c>text/plain</c> with its required-response-text, so the default ack is <c>200 text/plain RECEIVED</c>.
/// </summary>
internal sealed class AlphaTrustKind : ISourceKind
{
    /// <summary>The route value the path template must name, e.g. <c>/hooks/alphatrust/{token}</c>.</summary>
    public const string TokenParameter = "token";

    private const int MinTokenLength = 16;

    public string Name => "alphatrust";

    public AckConfig DefaultAck { get; } = new(200, "text/plain", "RECEIVED");

    /// <summary>
    /// One hour: a callback has no event id, so identical fields are the only sign of a retry. AlphaTrust sends
    /// <c>PartStatus=6</c> again for every reminder email with the very same fields, so a long window would swallow
    /// those real, later events.
    /// </summary>
    public TimeSpan? DefaultDedupeWindow => TimeSpan.FromHours(1);

    public ISourceHandler? Create(string path, IKindSettings settings)
    {
        var errorsBefore = settings.Errors.Count;
        var pathHasToken = path.Contains("{" + TokenParameter + "}", StringComparison.Ordinal);
        var token = pathHasToken
            ? settings.RequiredString("token", "The path contains {token}: set a long random value, e.g. token: ${ALPHATRUST_PATH_TOKEN} from `openssl rand -hex 24`.")
            : settings.String("token");
        if (!pathHasToken && !string.IsNullOrEmpty(token))
        {
            settings.Error("path", $"'{path}' has no {{token}} segment, so the token would never be checked. Use e.g. path: /hooks/alphatrust/{{token}}.");
        }
        else if (token?.Length is > 0 and < MinTokenLength)
        {
            settings.Error("token", $"is shorter than {MinTokenLength} characters. Use a long random value, e.g. from `openssl rand -hex 24`.");
        }

        var allowFrom = SourceAddresses.Read(settings, "allowFrom");

        // The handler must never be built without something to authenticate with: a token or a usable allow list.
        if (string.IsNullOrEmpty(token) && allowFrom is null && !settings.HasProblem("token") && !settings.HasProblem("allowFrom"))
        {
            if (settings.Exists("allowFrom"))
            {
                settings.Error("allowFrom", "lists no address, so nothing would authenticate AlphaTrust's unsigned callbacks. List AlphaTrust's server addresses or CIDR ranges, or set token (with {token} in the path).");
            }
            else
            {
                settings.Error("token", "AlphaTrust callbacks are unsigned, so set token (with {token} in the path) and/or allowFrom (AlphaTrust's server addresses or CIDR ranges).");
            }
        }

        var check = settings.Exists("verify") ? AlphaTrustVerification.Read(settings.Section("verify")) : null;
        var dedupeExclude = settings.Strings("dedupeExclude").ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (settings.Errors.Count > errorsBefore)
        {
            return null;
        }

        var tokenHash = string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return new Handler(tokenHash, allowFrom, dedupeExclude, check);
    }

    private sealed class Handler(byte[]? tokenHash, SourceAddresses? allowFrom, HashSet<string> dedupeExclude, IDeferredCheck? check) : ISourceHandler
    {
        public IReadOnlyList<string> Methods { get; } = ["POST", "GET"];

        public IDeferredCheck? DeferredCheck => check;

        public SourceVerdict Read(IngressRequest request)
        {
            if (tokenHash is not null && !TokenMatches(request.RouteValues[TokenParameter] as string))
            {
                return SourceVerdict.Unauthorized("path token does not match");
            }

            if (allowFrom is not null && !allowFrom.Contains(request.RemoteIp))
            {
                return SourceVerdict.Unauthorized("source address is not in allowFrom");
            }

            var isGet = HttpMethods.IsGet(request.Method);
            if (!isGet && !FormBody.IsForm(request.ContentType))
            {
                return SourceVerdict.UnsupportedMediaType("expected Content-Type application/x-www-form-urlencoded");
            }

            if (!AlphaTrustFields.TryRead(request.Method, request.QueryString, request.Body, out var fields, out var problem))
            {
                return SourceVerdict.BadRequest(problem);
            }

            var eventType = FormBody.Single(fields, "EventType");
            if (eventType is null)
            {
                return SourceVerdict.BadRequest(
                    fields.Values.Any(v => v.Any(s => s?.Contains("EventType=", StringComparison.Ordinal) ?? false))
                        ? "EventType is missing: a field value contains 'EventType=', so the sender left out an '&' before it"
                        : "EventType is required");
            }

            var dedupeKey = AlphaTrustFields.DedupeKey(fields, dedupeExclude);
            var ordering = FormBody.Single(fields, "TransID") ?? dedupeKey;
            return SourceVerdict.Accept(new IncomingEvent(dedupeKey, eventType, [], ordering));
        }

        private bool TokenMatches(string? presented)
        {
            // Hashing first makes the comparison constant-time whatever the length of the presented token.
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(Encoding.UTF8.GetBytes(presented ?? ""), hash);
            return CryptographicOperations.FixedTimeEquals(hash, tokenHash);
        }
    }
}
