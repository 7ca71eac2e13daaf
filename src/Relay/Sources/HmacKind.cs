using System.Security.Cryptography;
using System.Text;
using Relay.Verification;

namespace Relay.Sources;

/// <summary>
/// Generic HMAC-signed JSON webhooks: the header, algorithm, encoding, prefix and signed-content template are all
/// configurable, so a vendor whose scheme is unpublished or unusual can still be verified without code.
/// </summary>
internal sealed class HmacKind : ISourceKind
{
    public string Name => "hmac";

    /// <summary>
    /// The widest accepted gap between a signed timestamp and now: beyond an hour the timestamp hardly bounds replays
    /// any more (Standard Webhooks suggests five minutes).
    /// </summary>
    public static readonly TimeSpan MaxTolerance = TimeSpan.FromHours(1);

    public AckConfig DefaultAck { get; } = new(200, null, "");

    public ISourceHandler? Create(string path, IKindSettings settings)
    {
        // Every key is read before any is judged, so that a problem with one is reported with all the others.
        var scheme = ReadScheme(settings, defaults: null);
        var secret = settings.RequiredString("secret", "Set it to the shared HMAC secret, e.g. secret: ${MY_WEBHOOK_SECRET}.");
        var idField = settings.String("idField");
        var typeField = settings.String("typeField", "type")!;
        var orderingField = settings.String("orderingField");
        var requireJson = settings.Bool("requireJson", true);
        if (scheme is null || secret.Length == 0)
        {
            return null;
        }

        return new Handler(new HmacVerifier(scheme, Encoding.UTF8.GetBytes(secret)), scheme.IdHeader, idField, typeField, orderingField, requireJson);
    }

    /// <summary>Reads an HMAC scheme from settings, each key falling back to a vendor preset when one is given; null when invalid.</summary>
    public static HmacScheme? ReadScheme(IKindSettings settings, HmacScheme? defaults)
    {
        var scheme = new HmacScheme(
            Header: defaults is null
                ? settings.RequiredString("header", "Name the request header that carries the signature, e.g. header: X-Signature.")
                : settings.String("header", defaults.Header)!,
            Algorithm: Enum.Parse<HmacAlgorithm>(settings.OneOf("algorithm", (defaults?.Algorithm ?? HmacAlgorithm.Sha256).ToString(), "Sha1", "Sha256", "Sha512"), ignoreCase: true),
            Encoding: Enum.Parse<SignatureEncoding>(settings.OneOf("encoding", (defaults?.Encoding ?? SignatureEncoding.Hex).ToString(), "Hex", "Base64"), ignoreCase: true),
            Prefix: settings.String("prefix", defaults?.Prefix ?? "")!,
            Template: settings.String("template", defaults?.Template ?? "{body}")!,
            TimestampHeader: settings.String("timestampHeader", defaults?.TimestampHeader),
            Tolerance: settings.Duration("tolerance", defaults?.Tolerance ?? TimeSpan.FromMinutes(5), min: TimeSpan.FromSeconds(1), max: MaxTolerance),
            IdHeader: settings.String("idHeader", defaults?.IdHeader));
        var problems = HmacSchemeValidator.Validate(scheme);

        // A key already refused while being read (missing, too short) has its message: one message per problem.
        var refused = problems.Select(p => p.Key).Where(settings.HasProblem).ToHashSet(StringComparer.Ordinal);
        foreach (var problem in problems.Where(p => !refused.Contains(p.Key)))
        {
            settings.Error(problem.Key, problem.Message);
        }

        return problems.Count == 0 ? scheme : null;
    }

    private sealed class Handler(
        HmacVerifier verifier, string? idHeader, string? idField, string typeField, string? orderingField, bool requireJson) : ISourceHandler
    {
        public IReadOnlyList<string> Methods { get; } = ["POST"];

        public SourceVerdict Read(IngressRequest request)
        {
            var verified = verifier.Verify(request.Headers, request.Body, request.ReceivedAt);
            if (!verified.IsValid)
            {
                return SourceVerdict.Unauthorized(verified.Failure!);
            }

            if (!requireJson)
            {
                var id = idHeader is null ? null : request.Headers[idHeader].ToString();
                var key = string.IsNullOrEmpty(id) ? Convert.ToHexStringLower(SHA256.HashData(request.Body)) : id;
                return SourceVerdict.Accept(new IncomingEvent(key, "", [], key));
            }

            if (JsonBody.TryOpen(request, verifier: null, out var document) is { } rejected)
            {
                return rejected;
            }

            using (document)
            {
                var root = document.RootElement;
                var id = (idHeader is null ? null : request.Headers[idHeader].ToString()) is { Length: > 0 } fromHeader
                    ? fromHeader
                    : idField is null ? null : JsonBody.GetString(root, idField);

                // Without an id, the body itself identifies the event: an identical retry dedupes, a changed body does not.
                var dedupeKey = id ?? Convert.ToHexStringLower(SHA256.HashData(request.Body));
                var type = JsonBody.GetString(root, typeField) ?? "";
                var ordering = (orderingField is null ? null : JsonBody.GetString(root, orderingField)) ?? dedupeKey;
                return SourceVerdict.Accept(new IncomingEvent(dedupeKey, type, JsonBody.GetStrings(root, "tags"), ordering));
            }
        }
    }
}
