using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Relay.Verification;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// Signs content the way a vendor using a generic HMAC scheme would, independently of the verifier: the template is
/// filled in by plain string replacement and the MAC computed with System.Security.Cryptography directly.
/// </summary>
internal static class HmacSigner
{
    /// <summary>The header value a sender would put on <paramref name="body"/>: prefix then hex or base64 HMAC of the filled-in template.</summary>
    public static string Sign(HmacScheme scheme, byte[] key, byte[] body, string? id = null, long? timestamp = null)
    {
        ArgumentNullException.ThrowIfNull(scheme);

        string Fill(string text) => text
            .Replace("{id}", id ?? "", StringComparison.Ordinal)
            .Replace("{timestamp}", timestamp?.ToString(CultureInfo.InvariantCulture) ?? "", StringComparison.Ordinal);

        // The body is bytes, not necessarily UTF-8 text, so it goes between the filled-in halves rather than into the string.
        string[] halves = scheme.Template.Split("{body}");
        if (halves.Length != 2)
        {
            throw new ArgumentException("The template must contain {body} exactly once.", nameof(scheme));
        }

        byte[] content = [.. Encoding.UTF8.GetBytes(Fill(halves[0])), .. body, .. Encoding.UTF8.GetBytes(Fill(halves[1]))];
#pragma warning disable CA5350 // Vendors still signing with HMAC-SHA1 are supported, so tests sign with it too.
        byte[] mac = scheme.Algorithm switch
        {
            HmacAlgorithm.Sha1 => HMACSHA1.HashData(key, content),
            HmacAlgorithm.Sha256 => HMACSHA256.HashData(key, content),
            HmacAlgorithm.Sha512 => HMACSHA512.HashData(key, content),
            _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme.Algorithm, "Unknown HMAC algorithm."),
        };
#pragma warning restore CA5350
        string encoded = scheme.Encoding == SignatureEncoding.Hex ? Convert.ToHexStringLower(mac) : Convert.ToBase64String(mac);
        return scheme.Prefix + encoded;
    }
}
