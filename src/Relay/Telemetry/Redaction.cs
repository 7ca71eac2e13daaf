using System.Text.RegularExpressions;

namespace Relay.Telemetry;

/// <summary>
/// What never leaves Relay in clear: credentials and signatures in headers, and the query strings of URLs
/// (presigned document links carry their signature there). Used by logs and by the admin API alike.
/// </summary>
internal static partial class Redaction
{
    public const string Mask = "[redacted]";

    // Matched as substrings of the lower-cased header name: x-yousign-signature-256, webhook-signature, x-signed,
    // authorization, x-api-key, cookie, x-auth-token, x-hub-signature...
    private static readonly string[] SensitiveHeaderParts = ["signature", "signed", "authorization", "secret", "token", "key", "cookie", "password"];

    /// <summary>True when a header's value must not be shown or logged.</summary>
    public static bool IsSensitiveHeader(string name)
    {
        foreach (var part in SensitiveHeaderParts)
        {
            if (name.Contains(part, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Replaces the query string (and fragment) of every http(s) URL in <paramref name="text"/>.</summary>
    public static string RedactUrlQueries(string text) =>
        text.Contains("http", StringComparison.OrdinalIgnoreCase) ? UrlQuery().Replace(text, "$1?" + Mask) : text;

    [GeneratedRegex(@"(https?://[^\s""'<>?#]+)[?#][^\s""'<>]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlQuery();
}
