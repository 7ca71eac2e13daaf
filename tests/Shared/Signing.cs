using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Relay.Tests.Infrastructure;

/// <summary>Signs requests the way vendors do, independently of the code under test.</summary>
internal static partial class Signing
{
    public static string YousignSignature(string secret, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    public static string YousignEvent(string eventId, string eventName = "signature_request.done", string requestId = "sr-1") =>
        "{\"event_id\":\"" + eventId + "\",\"event_name\":\"" + eventName + "\",\"event_time\":\"1670855889\",\"subscription_id\":\"webhook-subscription-id\","
        + "\"subscription_description\":\"My webhook for signed documents\",\"sandbox\":false,"
        + "\"data\":{\"signature_request\":{\"id\":\"" + requestId + "\",\"status\":\"done\"}}}";

    public static HttpRequestMessage YousignRequest(string path, string secret, string body, string? signature = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("X-Yousign-Signature-256", signature ?? YousignSignature(secret, body));
        request.Headers.TryAddWithoutValidation("X-Yousign-Retry", "0");
        request.Headers.TryAddWithoutValidation("User-Agent", "Yousign Webhook Bot");
        return request;
    }

    /// <summary>Lowercase hex HMAC-SHA256 of the body: Signicat's default scheme in the relay, and Yousign's without its prefix.</summary>
    public static string HexHmacSha256(string secret, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    public static HttpRequestMessage SignicatRequest(string path, string secret, string body, string? signature = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("X-Signicat-Signature", signature ?? HexHmacSha256(secret, body));
        return request;
    }

    /// <summary>A Signicat event shaped like the published sample; expires 30 s after now unless told otherwise.</summary>
    public static string SignicatEvent(string id, string eventName = "order.completed", string sender = "signature-api", string tags = "[\"mock\"]", DateTimeOffset? expiresAt = null) =>
        "{\"id\":\"" + id + "\",\"timestamp\":\"" + DateTimeOffset.UtcNow.ToString("O") + "\",\"sender\":\"" + sender + "\",\"eventName\":\"" + eventName
        + "\",\"eventData\":{},\"accountId\":\"a-spge-IL9J9flqic18sh4TsUAo\",\"organizationId\":null,\"expiresAt\":\""
        + (expiresAt ?? DateTimeOffset.UtcNow.AddSeconds(30)).ToString("O") + "\",\"tags\":" + tags + "}";

    /// <summary>A form-urlencoded POST, the way AlphaTrust and Legalesign send callbacks.</summary>
    public static HttpRequestMessage FormPost(string path, string form) =>
        new(HttpMethod.Post, path) { Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded") };
}

/// <summary>
/// Signs callbacks the way Legalesign does (RSA PKCS#1 v1.5 SHA-1 over the UTF-8 bytes of a string, base64), with a key
/// and self-signed certificate made for the test, written as PEM to <see cref="CertificatePath"/>.
/// </summary>
internal sealed class RsaCallbackSigner : IDisposable
{
    private readonly RSA _key;

    public RsaCallbackSigner(string folder, string fileName = "legalesign.pem")
    {
        _key = RSA.Create(2048);
        var request = new CertificateRequest("CN=legalesign.test", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        CertificatePath = Path.Combine(folder, fileName);
        File.WriteAllText(CertificatePath, certificate.ExportCertificatePem());
    }

    public string CertificatePath { get; }

    public string Sign(string text) =>
        Convert.ToBase64String(_key.SignData(Encoding.UTF8.GetBytes(text), HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1));

    /// <summary>An Option 1 ("every 6 minutes") callback: <c>data</c> and its base64 signature <c>signed</c>.</summary>
    public HttpRequestMessage Batch(string path, string data, string? signed = null) =>
        Signing.FormPost(path, "data=" + Uri.EscapeDataString(data) + "&signed=" + Uri.EscapeDataString(signed ?? Sign(data)));

    public void Dispose() => _key.Dispose();
}
