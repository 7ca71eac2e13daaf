using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Relay.Sources;

/// <summary>
/// Legalesign API v1 callbacks, form POSTs signed with RSA PKCS#1 v1.5 SHA-1 over the exact UTF-8 bytes of a JSON string
/// field, checked with Legalesign's X.509 certificate (<c>certificate:</c>, a PEM or DER file).
/// Option 1 ("every 6 minutes"): <c>data</c> (a JSON list of changes) + <c>signed</c> (base64); each change becomes its own
/// event, typed <c>&lt;resource&gt;.&lt;name&gt;.&lt;value&gt;</c> (e.g. <c>signer.status.40</c>) and deduped on a hash of its
/// four fields, so a change repeated in a later batch is dropped on its own. The target receives each change as a form
/// POST <c>data=[change]</c>: the same shape as Legalesign's own, one change long, without <c>signed</c> (the signature
/// covers the whole batch, which the relay has checked).
/// "Upon event" hooks: form fields + <c>json_signed</c>, signature in the <c>X-Signed</c> header; one event, passed on as
/// received, typed by the <c>event</c> key of <c>json_signed</c> (<c>eventField:</c>; the unsigned form fields are never
/// read) and deduped on a hash of <c>json_signed</c>.
/// A route's <c>when</c> reads, as <c>body</c>, the change itself (Option 1) or the signed JSON (upon event), never the
/// unsigned form fields.
/// </summary>
internal sealed class LegalesignKind : ISourceKind
{
    private const string SignatureHeader = "X-Signed";

    public string Name => "legalesign";

    public AckConfig DefaultAck { get; } = new(200, null, "");

    public ISourceHandler? Create(string path, IKindSettings settings)
    {
        const string HowToGet = "Save Legalesign's callback certificate (PEM, from their \"verify callback data\" page) next to relay.yaml and set certificate: legalesign.pem.";
        var certificatePath = settings.FilePath("certificate");
        var eventField = settings.String("eventField", "event")!;
        if (certificatePath is null)
        {
            settings.Error("certificate", $"is required. {HowToGet}");
            return null;
        }

        if (!File.Exists(certificatePath))
        {
            settings.Error("certificate", $"file {certificatePath} does not exist (relative paths resolve against the config file's folder). {HowToGet}");
            return null;
        }

        try
        {
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
            using var key = certificate.GetRSAPublicKey();
            if (key is null)
            {
                settings.Error("certificate", $"{certificatePath} holds a {certificate.PublicKey.Oid.FriendlyName} key, not RSA. Use Legalesign's RSA certificate.");
                return null;
            }

            return new Handler(certificate.PublicKey.ExportSubjectPublicKeyInfo(), eventField);
        }
        catch (CryptographicException ex)
        {
            settings.Error("certificate", $"{certificatePath} could not be read as an X.509 certificate in PEM or DER ({ex.Message}). {HowToGet}");
            return null;
        }
    }

    private sealed class Handler(byte[] publicKey, string eventField) : ISourceHandler
    {
        public IReadOnlyList<string> Methods { get; } = ["POST"];

        public SourceVerdict Read(IngressRequest request)
        {
            if (!FormBody.IsForm(request.ContentType))
            {
                return SourceVerdict.UnsupportedMediaType("expected Content-Type application/x-www-form-urlencoded");
            }

            if (!FormBody.TryParse(request.Body, out var fields, out var problem))
            {
                return SourceVerdict.BadRequest(problem);
            }

            if (FormBody.Single(fields, "data") is { } data)
            {
                return Verify(data, FormBody.Single(fields, "signed"), "form field signed") ?? ReadBatch(data);
            }

            if (FormBody.Single(fields, "json_signed") is { } signedJson)
            {
                var header = request.Headers[SignatureHeader];
                return Verify(signedJson, header.Count == 1 ? header[0] : null, $"header {SignatureHeader}") ?? ReadSingle(signedJson);
            }

            return SourceVerdict.BadRequest($"expected form field data (with signed) or json_signed (with header {SignatureHeader})");
        }

        /// <returns>Null when the signature is genuine, else the 401 verdict.</returns>
        private SourceVerdict? Verify(string signedText, string? signatureText, string carrier)
        {
            if (string.IsNullOrEmpty(signatureText))
            {
                return SourceVerdict.Unauthorized($"missing {carrier}");
            }

            var signature = new byte[(signatureText.Length * 3 / 4) + 3];
            if (!Convert.TryFromBase64String(signatureText, signature, out var length))
            {
                return SourceVerdict.Unauthorized($"{carrier} is not base64");
            }

            // A fresh key per request: RSA objects are not documented as safe for concurrent use.
            using var rsa = RSA.Create();
            rsa.ImportSubjectPublicKeyInfo(publicKey, out _);
#pragma warning disable CA5350 // Legalesign signs with SHA-1; the relay can only check what the vendor sends.
            var genuine = rsa.VerifyData(Encoding.UTF8.GetBytes(signedText), signature.AsSpan(0, length), HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1);
#pragma warning restore CA5350
            return genuine ? null : SourceVerdict.Unauthorized("signature mismatch");
        }

        private static SourceVerdict ReadBatch(string data)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(data, new JsonDocumentOptions { MaxDepth = 64 });
            }
            catch (JsonException)
            {
                return SourceVerdict.BadRequest("data is not JSON");
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Array)
                {
                    return SourceVerdict.BadRequest("data is not a JSON list");
                }

                var events = new List<IncomingEvent>();
                var index = 0;
                foreach (var item in document.RootElement.EnumerateArray())
                {
                    var change = item.ValueKind == JsonValueKind.Object ? LegalesignChange.From(item) : null;
                    if (change is null)
                    {
                        return SourceVerdict.BadRequest($"data[{index}] needs timestamp, name, value and resource_uri");
                    }

                    events.Add(new IncomingEvent(
                        change.DedupeKey, change.Type, [], change.ResourceUri, LegalesignChange.TargetBody(item), Content: Encoding.UTF8.GetBytes(item.GetRawText())));
                    index++;
                }

                return SourceVerdict.Accept([.. events]);
            }
        }

        /// <summary>
        /// Everything an upon-event hook's event is known by comes from <c>json_signed</c>, the one part the signature
        /// covers: the other form fields are unsigned, so whoever replays a genuine <c>json_signed</c> could set them to
        /// anything (another event type to reach other routes, another ordering key).
        /// </summary>
        private SourceVerdict ReadSingle(string signedJson)
        {
            var signedBytes = Encoding.UTF8.GetBytes(signedJson);
            if (!JsonBody.TryParseObject(signedBytes, out var document))
            {
                return SourceVerdict.BadRequest("json_signed is not a JSON object");
            }

            using (document)
            {
                var root = document.RootElement;
                var type = JsonBody.GetString(root, eventField) ?? "";
                var ordering = JsonBody.GetString(root, "uuid") ?? JsonBody.GetString(root, "resource_uri");

                // The signed JSON is exactly what Legalesign sent for this event, so a resend hashes alike and anything new does not.
                var key = Convert.ToHexStringLower(SHA256.HashData(signedBytes));
                return SourceVerdict.Accept(new IncomingEvent(key, type, [], ordering ?? key, Content: signedBytes));
            }
        }
    }
}

/// <summary>One change of an Option 1 batch: <c>{timestamp, name, value, resource_uri}</c>.</summary>
internal sealed record LegalesignChange(string Timestamp, string Name, string Value, string ResourceUri)
{
    public static LegalesignChange? From(JsonElement item) =>
        (JsonBody.GetString(item, "timestamp"), JsonBody.GetString(item, "name"), JsonBody.GetString(item, "value"), JsonBody.GetString(item, "resource_uri"))
            is ({ Length: > 0 } timestamp, { Length: > 0 } name, { } value, { Length: > 0 } uri)
            ? new LegalesignChange(timestamp, name, value, uri)
            : null;

    /// <summary>The resource the change is about, from <c>/api/v1/&lt;resource&gt;/&lt;id&gt;/</c>: <c>signer</c>, <c>document</c>...</summary>
    public string Resource
    {
        get
        {
            var segments = ResourceUri.Split('/', StringSplitOptions.RemoveEmptyEntries);
            return segments.Length >= 2 ? segments[^2] : "resource";
        }
    }

    /// <summary>E.g. <c>signer.status.40</c> (signer signed) or <c>document.status.30</c> (document fully signed).</summary>
    public string Type => $"{Resource}.{Name}.{Value}";

    /// <summary>SHA-256 of the four fields, each length-prefixed, so a change resent in a later batch has the same key.</summary>
    public string DedupeKey => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ResourceUri.Length}:{ResourceUri}{Name.Length}:{Name}{Value.Length}:{Value}{Timestamp.Length}:{Timestamp}"))));

    /// <summary>What the target receives: the change as a one-item Option 1 form body, <c>data=[{...}]</c>.</summary>
    public static byte[] TargetBody(JsonElement item) => Encoding.UTF8.GetBytes("data=" + Uri.EscapeDataString("[" + item.GetRawText() + "]"));
}
