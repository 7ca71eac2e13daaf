using System.Security.Cryptography;
using System.Text;

namespace Relay.Tests.Infrastructure;

/// <summary>Signs requests the way vendors do, independently of the code under test.</summary>
internal static class Signing
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
}
