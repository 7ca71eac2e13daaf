using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Relay.Verification;

internal static class VerificationPrimitives
{
    public const int MaxHashSize = 64;

    // Below this the signed content is assembled on the stack and hashed in one shot, which avoids allocating an
    // IncrementalHash; above it the body is streamed into IncrementalHash so it is never copied at all.
    private const int StackAssembleLimit = 1024;

    // Rendered template text other than the body (literals, id, timestamp) is normally tiny.
    public const int StackRenderLimit = 256;

    // 9999-12-31T23:59:59Z: anything larger cannot be a real timestamp, and bounding it keeps the tolerance maths overflow-free.
    private const long MaxUnixSeconds = 253_402_300_799;

    /// <summary>Computes HMAC(key, head || body || tail) into destination and returns the number of bytes written.</summary>
    public static int ComputeHmac(
        HmacAlgorithm algorithm,
        ReadOnlySpan<byte> key,
        ReadOnlySpan<byte> head,
        ReadOnlySpan<byte> body,
        ReadOnlySpan<byte> tail,
        Span<byte> destination)
    {
        if (head.IsEmpty && tail.IsEmpty)
        {
            return HashData(algorithm, key, body, destination);
        }

        long total = (long)head.Length + body.Length + tail.Length;
        if (total <= StackAssembleLimit)
        {
            Span<byte> content = stackalloc byte[StackAssembleLimit];
            head.CopyTo(content);
            body.CopyTo(content[head.Length..]);
            tail.CopyTo(content[(head.Length + body.Length)..]);
            return HashData(algorithm, key, content[..(int)total], destination);
        }

        using IncrementalHash hmac = IncrementalHash.CreateHMAC(AlgorithmName(algorithm), key);
        hmac.AppendData(head);
        hmac.AppendData(body);
        hmac.AppendData(tail);
        return hmac.GetHashAndReset(destination);
    }

    /// <summary>Reads a header that must be present, non-empty and single-valued.</summary>
    public static bool TryGetSingle(IHeaderDictionary headers, string name, out string value, out bool multiple)
    {
        value = string.Empty;
        multiple = false;
        if (!headers.TryGetValue(name, out StringValues values) || values.Count == 0)
        {
            return false;
        }

        if (values.Count > 1)
        {
            multiple = true;
            return false;
        }

        value = values[0] ?? string.Empty;
        return value.Length > 0;
    }

    /// <summary>Parses Unix seconds: digits only, so the raw header text is exactly what the sender signed.</summary>
    public static bool TryParseUnixSeconds(ReadOnlySpan<char> text, out long seconds) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) && seconds <= MaxUnixSeconds;

    public static bool IsWithinTolerance(long timestampSeconds, DateTimeOffset now, TimeSpan tolerance)
    {
        // Whole seconds on both sides, like the Standard Webhooks reference libraries, so a 300 s tolerance accepts exactly 300 s.
        long toleranceSeconds = tolerance.Ticks / TimeSpan.TicksPerSecond;
        long difference = now.ToUnixTimeSeconds() - timestampSeconds;
        return difference <= toleranceSeconds && -difference <= toleranceSeconds;
    }

    private static int HashData(HmacAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> source, Span<byte> destination) =>
        algorithm switch
        {
#pragma warning disable CA5350 // Offered only for vendors that still sign with HMAC-SHA1; HMAC is not weakened by SHA-1 collisions.
            HmacAlgorithm.Sha1 => HMACSHA1.HashData(key, source, destination),
#pragma warning restore CA5350
            HmacAlgorithm.Sha256 => HMACSHA256.HashData(key, source, destination),
            HmacAlgorithm.Sha512 => HMACSHA512.HashData(key, source, destination),
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown HMAC algorithm."),
        };

    private static HashAlgorithmName AlgorithmName(HmacAlgorithm algorithm) => algorithm switch
    {
        HmacAlgorithm.Sha1 => HashAlgorithmName.SHA1,
        HmacAlgorithm.Sha256 => HashAlgorithmName.SHA256,
        HmacAlgorithm.Sha512 => HashAlgorithmName.SHA512,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown HMAC algorithm."),
    };
}
