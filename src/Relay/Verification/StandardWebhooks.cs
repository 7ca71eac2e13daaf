using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Relay.Verification;

/// <summary>Standard Webhooks 1.0 (https://www.standardwebhooks.com), used inbound (verify) and outbound (sign).</summary>
internal static class StandardWebhooks
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    private const string SecretPrefix = "whsec_";
    private const string Version = "v1";
    private const int MacSize = 32;

    private static readonly VerificationResult MissingId = VerificationResult.Invalid($"missing header {IdHeader}");
    private static readonly VerificationResult MissingTimestamp = VerificationResult.Invalid($"missing header {TimestampHeader}");
    private static readonly VerificationResult MissingSignature = VerificationResult.Invalid($"missing header {SignatureHeader}");
    private static readonly VerificationResult InvalidTimestamp =
        VerificationResult.Invalid($"header {TimestampHeader} is not a Unix timestamp in seconds");
    private static readonly VerificationResult OutsideTolerance = VerificationResult.Invalid("timestamp outside tolerance");
    private static readonly VerificationResult NoV1Signature =
        VerificationResult.Invalid($"no {Version} signature in header {SignatureHeader}");
    private static readonly VerificationResult Mismatch = VerificationResult.Invalid("signature mismatch");
    private static readonly VerificationResult NoKey = VerificationResult.Invalid("signature verification is misconfigured");

    public static bool TryDecodeSecret(string secret, out byte[] key)
    {
        key = [];
        if (string.IsNullOrWhiteSpace(secret))
        {
            return false;
        }

        ReadOnlySpan<char> encoded = secret.AsSpan().Trim();
        if (encoded.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            encoded = encoded[SecretPrefix.Length..];
        }

        byte[] buffer = new byte[(encoded.Length / 4 * 3) + 3];
        if (!Convert.TryFromBase64Chars(encoded, buffer, out int written) || written == 0)
        {
            return false;
        }

        key = buffer.AsSpan(0, written).ToArray();
        CryptographicOperations.ZeroMemory(buffer);
        return true;
    }

    public static VerificationResult Verify(byte[] key, IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentOutOfRangeException.ThrowIfLessThan(tolerance, TimeSpan.Zero);

        // Fail closed: anyone can compute an HMAC with an empty key, and callers fall back to one when the secret was bad.
        if (key.Length == 0)
        {
            return NoKey;
        }

        if (!VerificationPrimitives.TryGetSingle(headers, IdHeader, out string id, out _))
        {
            return MissingId;
        }

        if (!VerificationPrimitives.TryGetSingle(headers, TimestampHeader, out string timestamp, out bool multiple))
        {
            return multiple ? InvalidTimestamp : MissingTimestamp;
        }

        if (!headers.TryGetValue(SignatureHeader, out StringValues signatures) || StringValues.IsNullOrEmpty(signatures))
        {
            return MissingSignature;
        }

        if (!VerificationPrimitives.TryParseUnixSeconds(timestamp, out long seconds))
        {
            return InvalidTimestamp;
        }

        if (!VerificationPrimitives.IsWithinTolerance(seconds, now, tolerance))
        {
            return OutsideTolerance;
        }

        Span<byte> expected = stackalloc byte[MacSize];
        Span<byte> candidate = stackalloc byte[MacSize];
        Compute(key, id, timestamp, body, expected);
        try
        {
            return MatchAny(signatures, expected, candidate);
        }
        finally
        {
            // The expected MAC is a valid signature for this body; do not leave it lying on the stack.
            CryptographicOperations.ZeroMemory(expected);
        }
    }

    public static string Sign(byte[] key, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(id);
        if (key.Length == 0)
        {
            throw new ArgumentException("The signing key must not be empty.", nameof(key));
        }

        Span<char> timestampText = stackalloc char[20];
        if (!timestamp.TryFormat(timestampText, out int timestampLength, provider: CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("A 64-bit integer always fits in 20 characters.");
        }

        Span<byte> mac = stackalloc byte[MacSize];
        Compute(key, id, timestampText[..timestampLength], body, mac);
        return $"{Version},{Convert.ToBase64String(mac)}";
    }

    private static VerificationResult MatchAny(StringValues signatures, ReadOnlySpan<byte> expected, Span<byte> candidate)
    {
        bool anyV1 = false;
        foreach (string? header in signatures)
        {
            ReadOnlySpan<char> value = header.AsSpan();
            foreach (Range range in value.Split(' '))
            {
                ReadOnlySpan<char> entry = value[range];
                int comma = entry.IndexOf(',');
                // Other versions are skipped rather than rejected so senders can roll out new schemes alongside v1.
                if (comma < 0 || !entry[..comma].SequenceEqual(Version))
                {
                    continue;
                }

                anyV1 = true;
                ReadOnlySpan<char> signature = entry[(comma + 1)..];
                if (Convert.TryFromBase64Chars(signature, candidate, out int decoded)
                    && decoded == MacSize
                    && CryptographicOperations.FixedTimeEquals(candidate, expected))
                {
                    return VerificationResult.Valid;
                }
            }
        }

        return anyV1 ? Mismatch : NoV1Signature;
    }

    private static void Compute(byte[] key, ReadOnlySpan<char> id, ReadOnlySpan<char> timestamp, ReadOnlySpan<byte> body, Span<byte> destination)
    {
        // Signed content is "{id}.{timestamp}.{body}"; only the short prefix is rendered so the body is hashed in place.
        int length = Encoding.UTF8.GetByteCount(id) + 1 + timestamp.Length + 1;
        byte[]? rented = null;
        Span<byte> head = length <= VerificationPrimitives.StackRenderLimit
            ? stackalloc byte[VerificationPrimitives.StackRenderLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            int written = Encoding.UTF8.GetBytes(id, head);
            head[written++] = (byte)'.';
            written += Encoding.UTF8.GetBytes(timestamp, head[written..]);
            head[written++] = (byte)'.';
            VerificationPrimitives.ComputeHmac(HmacAlgorithm.Sha256, key, head[..written], body, default, destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
