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

    /// <summary>True when a header's (or form field's) value must not be shown or logged.</summary>
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

    /// <summary>
    /// Masks the values of sensitive fields in a form-urlencoded body (AlphaTrust's <c>ps_securitytoken</c>,
    /// Legalesign's <c>signed</c>), by the same name rule as headers; other fields stay readable.
    /// </summary>
    public static string RedactFormFields(string form)
    {
        var fields = form.Split('&');
        for (var i = 0; i < fields.Length; i++)
        {
            var equals = fields[i].IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? fields[i] : fields[i][..equals];
            if (equals >= 0 && IsSensitiveHeader(Uri.UnescapeDataString(name.Replace('+', ' '))))
            {
                fields[i] = name + "=" + Mask;
            }
        }

        return string.Join('&', fields);
    }

    [GeneratedRegex(@"(https?://[^\s""'<>?#]+)[?#][^\s""'<>]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlQuery();
}
