using System.Buffers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Relay.Verification;

/// <summary>
/// Verifies a request signed with a configurable HMAC scheme: reads the signature, timestamp and id headers, checks the
/// timestamp's age, then compares the HMAC of the signed content against every candidate signature in constant time.
/// </summary>
internal sealed class HmacVerifier
{
    private static readonly VerificationResult Mismatch = VerificationResult.Invalid("signature mismatch");
    private static readonly VerificationResult OutsideTolerance = VerificationResult.Invalid("timestamp outside tolerance");
    private static readonly VerificationResult Misconfigured = VerificationResult.Invalid("signature verification is misconfigured");

    private readonly HmacScheme _scheme;
    private readonly byte[] _key;
    // Null when the scheme is invalid or the key empty: such a verifier rejects every request.
    private readonly HmacTemplate? _template;

    // Built once so a rejected request costs no allocation.
    private readonly VerificationResult _missingSignature;
    private readonly VerificationResult _missingPrefix;
    private readonly VerificationResult _malformedSignature;
    private readonly VerificationResult _missingTimestamp;
    private readonly VerificationResult _invalidTimestamp;
    private readonly VerificationResult _missingId;

    public HmacVerifier(HmacScheme scheme, byte[] key)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        ArgumentNullException.ThrowIfNull(key);

        _scheme = scheme;
        // Copied so a caller reusing or clearing its array cannot change what this verifier accepts.
        _key = key.AsSpan().ToArray();

        // Config loading reports the scheme's problems and an empty secret itself and keeps collecting errors, so throwing
        // here would replace that report with a crash. Instead the verifier fails closed: an empty key would let anyone
        // forge signatures, and a broken template would check something other than what the sender signed.
        bool misconfigured = HmacSchemeValidator.Validate(scheme).Count > 0 || key.Length == 0;
        _template = misconfigured ? null : HmacTemplate.Parse(scheme.Template);

        string encoding = scheme.Encoding == SignatureEncoding.Hex ? "hex" : "base64";
        _missingSignature = VerificationResult.Invalid($"missing header {scheme.Header}");
        _missingPrefix = VerificationResult.Invalid($"signature in header {scheme.Header} lacks prefix '{scheme.Prefix}'");
        _malformedSignature = VerificationResult.Invalid(
            $"signature in header {scheme.Header} is not a {encoding}-encoded HMAC-{scheme.Algorithm.ToString().ToUpperInvariant()}");
        _missingTimestamp = VerificationResult.Invalid($"missing header {scheme.TimestampHeader}");
        _invalidTimestamp = VerificationResult.Invalid($"header {scheme.TimestampHeader} is not a Unix timestamp in seconds");
        _missingId = VerificationResult.Invalid($"missing header {scheme.IdHeader}");
    }

    public VerificationResult Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);

        if (_template is not { } template)
        {
            return Misconfigured;
        }

        if (!headers.TryGetValue(_scheme.Header, out StringValues signatures) || StringValues.IsNullOrEmpty(signatures))
        {
            return _missingSignature;
        }

        string timestamp = string.Empty;
        if (_scheme.TimestampHeader is not null)
        {
            if (!VerificationPrimitives.TryGetSingle(headers, _scheme.TimestampHeader, out timestamp, out bool multiple))
            {
                return multiple ? _invalidTimestamp : _missingTimestamp;
            }

            if (!VerificationPrimitives.TryParseUnixSeconds(timestamp, out long seconds))
            {
                return _invalidTimestamp;
            }

            // Checked before hashing so stale or replayed requests are turned away cheaply.
            if (!VerificationPrimitives.IsWithinTolerance(seconds, now, _scheme.Tolerance))
            {
                return OutsideTolerance;
            }
        }

        string id = string.Empty;
        if (template.UsesId && !VerificationPrimitives.TryGetSingle(headers, _scheme.IdHeader!, out id, out _))
        {
            return _missingId;
        }

        Span<byte> expected = stackalloc byte[VerificationPrimitives.MaxHashSize];
        Span<byte> candidate = stackalloc byte[VerificationPrimitives.MaxHashSize];
        expected = expected[..ComputeMac(template, body, id, timestamp, expected)];
        candidate = candidate[..expected.Length];
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

    private int ComputeMac(
        HmacTemplate template, ReadOnlySpan<byte> body, ReadOnlySpan<char> id, ReadOnlySpan<char> timestamp, Span<byte> destination)
    {
        if (template.IsBodyOnly)
        {
            return VerificationPrimitives.ComputeHmac(_scheme.Algorithm, _key, default, body, default, destination);
        }

        (int headLength, int tailLength) = template.Measure(id, timestamp);
        int length = headLength + tailLength;
        byte[]? rented = null;
        Span<byte> rendered = length <= VerificationPrimitives.StackRenderLimit
            ? stackalloc byte[VerificationPrimitives.StackRenderLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            template.Render(id, timestamp, rendered);
            return VerificationPrimitives.ComputeHmac(
                _scheme.Algorithm, _key, rendered[..headLength], body, rendered[headLength..length], destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private VerificationResult MatchAny(StringValues signatures, ReadOnlySpan<byte> expected, Span<byte> candidate)
    {
        bool anyPrefixed = false;
        bool anyWellFormed = false;
        foreach (string? header in signatures)
        {
            ReadOnlySpan<char> value = header.AsSpan().Trim();
            if (!TryStripPrefix(ref value))
            {
                continue;
            }

            anyPrefixed = true;
            foreach (Range range in value.SplitAny(", \t"))
            {
                ReadOnlySpan<char> token = value[range];
                // Senders listing several signatures sometimes repeat the prefix on each one.
                TryStripPrefix(ref token);
                if (token.IsEmpty || !TryDecode(token, candidate))
                {
                    continue;
                }

                anyWellFormed = true;
                if (CryptographicOperations.FixedTimeEquals(candidate, expected))
                {
                    return VerificationResult.Valid;
                }
            }
        }

        return anyWellFormed ? Mismatch : anyPrefixed ? _malformedSignature : _missingPrefix;
    }

    private bool TryStripPrefix(ref ReadOnlySpan<char> value)
    {
        if (!value.StartsWith(_scheme.Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        value = value[_scheme.Prefix.Length..];
        return true;
    }

    // Succeeds only for a value of exactly the hash size, which is also what makes the constant-time compare valid.
    private bool TryDecode(ReadOnlySpan<char> token, Span<byte> destination)
    {
        if (_scheme.Encoding == SignatureEncoding.Hex)
        {
            return token.Length == destination.Length * 2
                && Convert.FromHexString(token, destination, out _, out int written) == OperationStatus.Done
                && written == destination.Length;
        }

        return Convert.TryFromBase64Chars(token, destination, out int decoded) && decoded == destination.Length;
    }
}
