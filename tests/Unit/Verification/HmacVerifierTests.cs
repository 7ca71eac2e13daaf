using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Relay.Tests.Infrastructure;
using Relay.Verification;
using Xunit;

namespace Relay.Tests.Verification;

public sealed class HmacVerifierTests
{
    private const string YousignHeader = "X-Yousign-Signature-256";
    private const string Secret = "yousign-webhook-secret-0123456789";
    private const string YousignBody = """{"event_id":"b6c63685-c556-4a30-8fe9-b6f2b187d936","event_name":"signature_request.activated","event_time":"1670855889","subscription_id":"webhook-subscription-id","subscription_description":"My webhook for signed documents","sandbox":false,"data":{"signature_request":{"id":"xxx-xxx","status":"approval"}}}""";
    private const long Timestamp = 1_700_000_000;

    private static readonly HmacScheme Yousign = new(YousignHeader, HmacAlgorithm.Sha256, SignatureEncoding.Hex, "sha256=", "{body}", null, TimeSpan.Zero, null);
    private static readonly HmacScheme TimestampScheme = new("X-Signature", HmacAlgorithm.Sha256, SignatureEncoding.Base64, "", "{timestamp}.{body}", "X-Timestamp", TimeSpan.FromMinutes(5), null);
    private static readonly HmacScheme IdScheme = new("X-Signature", HmacAlgorithm.Sha256, SignatureEncoding.Hex, "", "{id}.{timestamp}.{body}", "X-Timestamp", TimeSpan.FromMinutes(5), "X-Message-Id");

    private static readonly byte[] Key = Encoding.UTF8.GetBytes(Secret);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes(YousignBody);
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(Timestamp);

    // Computed with HMACSHA256 directly rather than through the code under test.
    private static string YousignHex => Convert.ToHexStringLower(HMACSHA256.HashData(Key, Body));

    [Fact]
    public void Verify_YousignIndependentSignature_IsValid()
    {
        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, "sha256=" + YousignHex)), Body, Now);

        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_YousignSignedByTestSigner_IsValid()
    {
        string signature = HmacSigner.Sign(Yousign, Key, Body);

        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, signature)), Body, Now);

        Assert.Equal("sha256=" + YousignHex, signature);
        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_YousignUppercaseHex_IsValid()
    {
        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, "sha256=" + YousignHex.ToUpperInvariant())), Body, Now);

        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_YousignUppercasePrefix_IsValid()
    {
        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, "SHA256=" + YousignHex)), Body, Now);

        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_WrongSecret_IsInvalid()
    {
        var result = new HmacVerifier(Yousign, Encoding.UTF8.GetBytes("another-secret")).Verify(Headers((YousignHeader, "sha256=" + YousignHex)), Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("signature mismatch", result.Failure);
    }

    [Fact]
    public void Verify_BodyChangedByOneByte_IsInvalid()
    {
        byte[] body = [.. Body];
        body[10] ^= 0x01;

        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, "sha256=" + YousignHex)), body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("signature mismatch", result.Failure);
    }

    [Fact]
    public void Verify_MissingHeader_IsInvalid()
    {
        var result = new HmacVerifier(Yousign, Key).Verify(Headers(("X-Other", "sha256=" + YousignHex)), Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal($"missing header {YousignHeader}", result.Failure);
    }

    [Fact]
    public void Verify_MissingPrefix_IsInvalid()
    {
        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, YousignHex)), Body, Now);

        Assert.False(result.IsValid);
        Assert.Contains("prefix", result.Failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sha256=")]
    [InlineData("sha256=zzzz")]
    [InlineData("sha256=abc")]
    [InlineData("sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg")]
    [InlineData("sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde")]
    [InlineData("sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef00")]
    [InlineData("sha256=!!!!")]
    public void Verify_GarbageHex_IsInvalidWithoutThrowing(string value)
    {
        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, value)), Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal($"signature in header {YousignHeader} is not a hex-encoded HMAC-SHA256", result.Failure);
    }

    [Theory]
    [InlineData("!!!!")]
    [InlineData("abc")]
    [InlineData("Zm9v")]
    [InlineData("====")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Verify_GarbageBase64_IsInvalidWithoutThrowing(string value)
    {
        var scheme = Yousign with { Encoding = SignatureEncoding.Base64, Prefix = "" };

        var result = new HmacVerifier(scheme, Key).Verify(Headers((YousignHeader, value)), Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal($"signature in header {YousignHeader} is not a base64-encoded HMAC-SHA256", result.Failure);
    }

    [Theory]
    [InlineData("sha256={wrong},{right}")]
    [InlineData("sha256={wrong} {right}")]
    [InlineData("sha256={wrong}, sha256={right}")]
    [InlineData("sha256={right},{wrong}")]
    public void Verify_SeveralCandidatesIncludingRightOne_IsValid(string pattern)
    {
        string wrong = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("other"), Body));
        string value = pattern.Replace("{wrong}", wrong, StringComparison.Ordinal).Replace("{right}", YousignHex, StringComparison.Ordinal);

        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, value)), Body, Now);

        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_SeveralCandidatesAllWrong_IsInvalid()
    {
        string wrong1 = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("other"), Body));
        string wrong2 = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("another"), Body));

        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, $"sha256={wrong1},{wrong2} zz")), Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("signature mismatch", result.Failure);
    }

    [Fact]
    public void Verify_Mismatch_FailureRevealsNoSecretOrSignature()
    {
        string received = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("other"), Body));

        var result = new HmacVerifier(Yousign, Key).Verify(Headers((YousignHeader, "sha256=" + received)), Body, Now);

        Assert.False(result.IsValid);
        Assert.NotNull(result.Failure);
        Assert.DoesNotContain(Secret, result.Failure, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(received, result.Failure, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(YousignHex, result.Failure, StringComparison.OrdinalIgnoreCase);
    }

    // Names rather than the enums themselves: a public test method cannot take internal types as parameters.
    public static TheoryData<string, string> AlgorithmsAndEncodings => new()
    {
        { nameof(HmacAlgorithm.Sha1), nameof(SignatureEncoding.Hex) },
        { nameof(HmacAlgorithm.Sha1), nameof(SignatureEncoding.Base64) },
        { nameof(HmacAlgorithm.Sha256), nameof(SignatureEncoding.Hex) },
        { nameof(HmacAlgorithm.Sha256), nameof(SignatureEncoding.Base64) },
        { nameof(HmacAlgorithm.Sha512), nameof(SignatureEncoding.Hex) },
        { nameof(HmacAlgorithm.Sha512), nameof(SignatureEncoding.Base64) },
    };

    [Theory]
    [MemberData(nameof(AlgorithmsAndEncodings))]
    public void Verify_EachAlgorithmAndEncodingSignedByTestSigner_ValidUntilBodyTampered(string algorithmName, string encodingName)
    {
        var algorithm = Enum.Parse<HmacAlgorithm>(algorithmName);
        var encoding = Enum.Parse<SignatureEncoding>(encodingName);
        var scheme = new HmacScheme("X-Sig", algorithm, encoding, "sig=", "{body}", null, TimeSpan.Zero, null);
        var verifier = new HmacVerifier(scheme, Key);
        string signature = HmacSigner.Sign(scheme, Key, Body);
        byte[] tampered = [.. Body];
        tampered[0] ^= 0x01;

        Assert.True(verifier.Verify(Headers(("X-Sig", signature)), Body, Now).IsValid);
        Assert.False(verifier.Verify(Headers(("X-Sig", signature)), tampered, Now).IsValid);
    }

    [Theory]
    [MemberData(nameof(AlgorithmsAndEncodings))]
    public void Verify_EachAlgorithmAndEncoding_SignatureMadeWithAnotherAlgorithmIsInvalid(string algorithmName, string encodingName)
    {
        var algorithm = Enum.Parse<HmacAlgorithm>(algorithmName);
        var encoding = Enum.Parse<SignatureEncoding>(encodingName);
        var scheme = new HmacScheme("X-Sig", algorithm, encoding, "sig=", "{body}", null, TimeSpan.Zero, null);
        var verifier = new HmacVerifier(scheme, Key);

        foreach (var other in Enum.GetValues<HmacAlgorithm>().Where(other => other != algorithm))
        {
            string signature = HmacSigner.Sign(scheme with { Algorithm = other }, Key, Body);

            var result = verifier.Verify(Headers(("X-Sig", signature)), Body, Now);

            Assert.False(result.IsValid);
            Assert.Equal($"signature in header X-Sig is not a {encodingName.ToLowerInvariant()}-encoded HMAC-{algorithmName.ToUpperInvariant()}", result.Failure);
        }
    }

    // Sizes straddle the point where the verifier stops assembling content on the stack and streams it instead.
    public static TheoryData<string, string, int> AlgorithmsEncodingsAndSizes
    {
        get
        {
            var data = new TheoryData<string, string, int>();
            foreach (string algorithm in Enum.GetNames<HmacAlgorithm>())
            {
                foreach (string encoding in Enum.GetNames<SignatureEncoding>())
                {
                    foreach (int size in new[] { 0, 100, 5_000 })
                    {
                        data.Add(algorithm, encoding, size);
                    }
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(AlgorithmsEncodingsAndSizes))]
    public void Verify_TemplateWithTextAroundBody_MatchesIndependentHmac(string algorithmName, string encodingName, int bodySize)
    {
        var algorithm = Enum.Parse<HmacAlgorithm>(algorithmName);
        var encoding = Enum.Parse<SignatureEncoding>(encodingName);
        byte[] body = new byte[bodySize];
        new Random(bodySize).NextBytes(body);
        byte[] content = [.. Encoding.UTF8.GetBytes($"t={Timestamp};"), .. body, .. ";end"u8];
#pragma warning disable CA5350 // The scheme under test supports SHA-1 for legacy vendors.
        byte[] mac = algorithm switch
        {
            HmacAlgorithm.Sha1 => HMACSHA1.HashData(Key, content),
            HmacAlgorithm.Sha256 => HMACSHA256.HashData(Key, content),
            _ => HMACSHA512.HashData(Key, content),
        };
#pragma warning restore CA5350
        string expected = encoding == SignatureEncoding.Hex ? Convert.ToHexStringLower(mac) : Convert.ToBase64String(mac);
        var scheme = new HmacScheme("X-Sig", algorithm, encoding, "", "t={timestamp};{body};end", "X-Timestamp", TimeSpan.FromMinutes(5), null);
        var verifier = new HmacVerifier(scheme, Key);

        Assert.True(verifier.Verify(Headers(("X-Sig", expected), ("X-Timestamp", Timestamp.ToString())), body, Now).IsValid);
        Assert.Equal(expected, HmacSigner.Sign(scheme, Key, body, timestamp: Timestamp));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(299)]
    [InlineData(-299)]
    [InlineData(300)]
    public void Verify_TimestampTemplateWithinTolerance_IsValid(long offsetSeconds)
    {
        var result = new HmacVerifier(TimestampScheme, Key).Verify(TimestampHeaders(TimestampSignature(Body)), Body, Now.AddSeconds(offsetSeconds));

        Assert.True(result.IsValid, result.Failure);
    }

    [Theory]
    [InlineData(301)]
    [InlineData(-301)]
    [InlineData(100_000)]
    public void Verify_TimestampTemplateOutsideTolerance_IsInvalid(long offsetSeconds)
    {
        var result = new HmacVerifier(TimestampScheme, Key).Verify(TimestampHeaders(TimestampSignature(Body)), Body, Now.AddSeconds(offsetSeconds));

        Assert.False(result.IsValid);
        Assert.Equal("timestamp outside tolerance", result.Failure);
    }

    [Fact]
    public void Verify_TimestampTemplateMissingTimestampHeader_IsInvalid()
    {
        var headers = TimestampHeaders(TimestampSignature(Body));
        headers.Remove("X-Timestamp");

        var result = new HmacVerifier(TimestampScheme, Key).Verify(headers, Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("missing header X-Timestamp", result.Failure);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("1700000000.0")]
    [InlineData("-1700000000")]
    public void Verify_TimestampTemplateNonNumericTimestamp_IsInvalid(string timestamp)
    {
        var headers = TimestampHeaders(TimestampSignature(Body));
        headers["X-Timestamp"] = timestamp;

        var result = new HmacVerifier(TimestampScheme, Key).Verify(headers, Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("header X-Timestamp is not a Unix timestamp in seconds", result.Failure);
    }

    [Fact]
    public void Verify_TimestampTemplateSignatureOverBodyOnly_IsInvalid()
    {
        string bodyOnly = Convert.ToBase64String(HMACSHA256.HashData(Key, Body));

        var result = new HmacVerifier(TimestampScheme, Key).Verify(TimestampHeaders(bodyOnly), Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("signature mismatch", result.Failure);
    }

    [Fact]
    public void Verify_TimestampTemplateTimestampHeaderChanged_IsInvalid()
    {
        var headers = TimestampHeaders(TimestampSignature(Body));
        headers["X-Timestamp"] = (Timestamp + 1).ToString();

        var result = new HmacVerifier(TimestampScheme, Key).Verify(headers, Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("signature mismatch", result.Failure);
    }

    [Fact]
    public void Verify_TimestampTemplateLargeBody_IsValid()
    {
        byte[] body = new byte[50_000];
        new Random(1).NextBytes(body);

        var result = new HmacVerifier(TimestampScheme, Key).Verify(TimestampHeaders(TimestampSignature(body)), body, Now);

        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_TimestampTemplateSignedByTestSigner_IsValid()
    {
        string signature = HmacSigner.Sign(TimestampScheme, Key, Body, timestamp: Timestamp);

        var result = new HmacVerifier(TimestampScheme, Key).Verify(TimestampHeaders(signature), Body, Now);

        Assert.Equal(TimestampSignature(Body), signature);
        Assert.True(result.IsValid, result.Failure);
    }

    [Theory]
    [InlineData("msg_123")]
    [InlineData("msg_\u00e9t\u00e9")]
    public void Verify_IdTemplate_UsesIdHeader(string id)
    {
        string signature = Convert.ToHexStringLower(Mac([.. Encoding.UTF8.GetBytes($"{id}.{Timestamp}."), .. Body]));
        var verifier = new HmacVerifier(IdScheme, Key);

        Assert.True(verifier.Verify(IdHeaders(id, signature), Body, Now).IsValid);
        Assert.False(verifier.Verify(IdHeaders(id + "x", signature), Body, Now).IsValid);
        Assert.True(verifier.Verify(IdHeaders(id, HmacSigner.Sign(IdScheme, Key, Body, id, Timestamp)), Body, Now).IsValid);
    }

    [Fact]
    public void Verify_IdTemplateLongId_UsesIdHeader()
    {
        string id = new('m', 1_000);
        string signature = Convert.ToHexStringLower(Mac([.. Encoding.UTF8.GetBytes($"{id}.{Timestamp}."), .. Body]));

        var result = new HmacVerifier(IdScheme, Key).Verify(IdHeaders(id, signature), Body, Now);

        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_IdTemplateMissingIdHeader_IsInvalid()
    {
        string signature = Convert.ToHexStringLower(Mac([.. Encoding.UTF8.GetBytes($"msg_1.{Timestamp}."), .. Body]));
        var headers = IdHeaders("msg_1", signature);
        headers.Remove("X-Message-Id");

        var result = new HmacVerifier(IdScheme, Key).Verify(headers, Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("missing header X-Message-Id", result.Failure);
    }

    [Fact]
    public void Verify_LiteralTextAroundPlaceholders_IsSigned()
    {
        var scheme = IdScheme with { Template = "v0:{timestamp}:{id}:{body}:end" };
        string signature = Convert.ToHexStringLower(Mac([.. Encoding.UTF8.GetBytes($"v0:{Timestamp}:msg_1:"), .. Body, .. ":end"u8]));

        var result = new HmacVerifier(scheme, Key).Verify(IdHeaders("msg_1", signature), Body, Now);

        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_StandardWebhooksVectorAsGenericScheme_IsValid()
    {
        var scheme = new HmacScheme(StandardWebhooks.SignatureHeader, HmacAlgorithm.Sha256, SignatureEncoding.Base64, "v1,", "{id}.{timestamp}.{body}", StandardWebhooks.TimestampHeader, TimeSpan.FromMinutes(5), StandardWebhooks.IdHeader);
        var headers = new HeaderDictionary
        {
            [StandardWebhooks.IdHeader] = "msg_p5jXN8AQM9LWM0D4loKWxJek",
            [StandardWebhooks.TimestampHeader] = "1614265330",
            [StandardWebhooks.SignatureHeader] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        };

        var result = new HmacVerifier(scheme, Convert.FromBase64String("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
            .Verify(headers, """{"test": 2432232314}"""u8, DateTimeOffset.FromUnixTimeSeconds(1614265330));

        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_InvalidScheme_FailsClosedWithoutThrowing()
    {
        // Body-only signature: what a verifier ignoring the broken template would wrongly accept.
        var headers = Headers(("X-Signature", Convert.ToBase64String(HMACSHA256.HashData(Key, Body))), ("X-Timestamp", Timestamp.ToString()));
        var verifier = new HmacVerifier(TimestampScheme with { TimestampHeader = null }, Key);

        var result = verifier.Verify(headers, Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("signature verification is misconfigured", result.Failure);
    }

    [Fact]
    public void Verify_EmptyKey_FailsClosed()
    {
        string forged = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Array.Empty<byte>(), Body));

        var result = new HmacVerifier(Yousign, []).Verify(Headers((YousignHeader, forged)), Body, Now);

        Assert.False(result.IsValid);
        Assert.Equal("signature verification is misconfigured", result.Failure);
    }

    [Fact]
    public void Verify_CallerMutatesKeyAfterConstruction_StillUsesOriginalKey()
    {
        byte[] key = [.. Key];
        var verifier = new HmacVerifier(Yousign, key);
        Array.Clear(key);

        Assert.True(verifier.Verify(Headers((YousignHeader, "sha256=" + YousignHex)), Body, Now).IsValid);
    }

    private static byte[] Mac(byte[] content) => HMACSHA256.HashData(Key, content);

    private static string TimestampSignature(byte[] body) =>
        Convert.ToBase64String(Mac([.. Encoding.UTF8.GetBytes($"{Timestamp}."), .. body]));

    private static HeaderDictionary TimestampHeaders(string signature) =>
        Headers(("X-Signature", signature), ("X-Timestamp", Timestamp.ToString()));

    private static HeaderDictionary IdHeaders(string id, string signature) =>
        Headers(("X-Signature", signature), ("X-Timestamp", Timestamp.ToString()), ("X-Message-Id", id));

    private static HeaderDictionary Headers(params (string Name, string Value)[] entries)
    {
        var headers = new HeaderDictionary();
        foreach ((string name, string value) in entries)
        {
            headers[name] = value;
        }

        return headers;
    }
}
