using System.Text;
using Microsoft.AspNetCore.Http;
using Relay.Verification;
using Xunit;

namespace Relay.Tests.Verification;

public sealed class StandardWebhooksTests
{
    private const string Secret1 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string Id1 = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long Timestamp1 = 1614265330;
    private const string Body1 = """{"test": 2432232314}""";
    private const string Signature1 = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    public static TheoryData<string, string, long, string, string> Vectors => new()
    {
        { Secret1, Id1, Timestamp1, Body1, Signature1 },
        {
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            """{"email":"test@example.com","username":"test_user"}""",
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Verify_SpecVector_IsValid(string secret, string id, long timestamp, string body, string signature)
    {
        var result = StandardWebhooks.Verify(Key(secret), Headers(id, timestamp.ToString(), signature), Encoding.UTF8.GetBytes(body), At(timestamp), StandardWebhooks.DefaultTolerance);

        Assert.True(result.IsValid, result.Failure);
        Assert.Null(result.Failure);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Sign_SpecVector_ReproducesSignature(string secret, string id, long timestamp, string body, string signature)
    {
        Assert.Equal(signature, StandardWebhooks.Sign(Key(secret), id, timestamp, Encoding.UTF8.GetBytes(body)));
    }

    [Theory]
    [InlineData("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLawdd")]
    [InlineData("v1,")]
    [InlineData("v1,Zm9v")]
    [InlineData("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    public void Verify_WrongSignature_IsInvalid(string signature)
    {
        var result = Verify1(Headers(Id1, Timestamp1.ToString(), signature));

        Assert.False(result.IsValid);
        Assert.Equal("signature mismatch", result.Failure);
    }

    [Theory]
    [InlineData("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    public void Verify_OnlyOtherVersions_IsInvalid(string signature)
    {
        var result = Verify1(Headers(Id1, Timestamp1.ToString(), signature));

        Assert.False(result.IsValid);
        Assert.Equal("no v1 signature in header webhook-signature", result.Failure);
    }

    [Theory]
    [InlineData("v2,abc v1,Zm9v " + Signature1)]
    [InlineData(Signature1 + " v1,Zm9v")]
    [InlineData("v1a,xyz v1, " + Signature1 + " v2,abc")]
    public void Verify_SeveralEntriesIncludingRightOne_IsValid(string signature)
    {
        var result = Verify1(Headers(Id1, Timestamp1.ToString(), signature));

        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public void Verify_SeveralEntriesAllWrong_IsInvalid()
    {
        var result = Verify1(Headers(Id1, Timestamp1.ToString(), "v2,abc v1,Zm9v v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLawdd"));

        Assert.False(result.IsValid);
    }

    [Theory]
    [InlineData(StandardWebhooks.IdHeader)]
    [InlineData(StandardWebhooks.TimestampHeader)]
    [InlineData(StandardWebhooks.SignatureHeader)]
    public void Verify_HeaderMissing_IsInvalid(string missing)
    {
        var headers = Headers(Id1, Timestamp1.ToString(), Signature1);
        headers.Remove(missing);

        var result = Verify1(headers);

        Assert.False(result.IsValid);
        Assert.Equal($"missing header {missing}", result.Failure);
    }

    [Theory]
    [InlineData(StandardWebhooks.IdHeader)]
    [InlineData(StandardWebhooks.TimestampHeader)]
    [InlineData(StandardWebhooks.SignatureHeader)]
    public void Verify_HeaderEmpty_IsInvalid(string empty)
    {
        var headers = Headers(Id1, Timestamp1.ToString(), Signature1);
        headers[empty] = string.Empty;

        var result = Verify1(headers);

        Assert.False(result.IsValid);
        Assert.Equal($"missing header {empty}", result.Failure);
    }

    [Theory]
    [InlineData(301)]
    [InlineData(-301)]
    public void Verify_TimestampBeyondTolerance_IsInvalid(long offsetSeconds)
    {
        var result = StandardWebhooks.Verify(Key(Secret1), Headers(Id1, Timestamp1.ToString(), Signature1), Encoding.UTF8.GetBytes(Body1), At(Timestamp1 + offsetSeconds), StandardWebhooks.DefaultTolerance);

        Assert.False(result.IsValid);
        Assert.Equal("timestamp outside tolerance", result.Failure);
    }

    [Theory]
    [InlineData(300)]
    [InlineData(-300)]
    public void Verify_TimestampAtToleranceEdge_IsValid(long offsetSeconds)
    {
        var result = StandardWebhooks.Verify(Key(Secret1), Headers(Id1, Timestamp1.ToString(), Signature1), Encoding.UTF8.GetBytes(Body1), At(Timestamp1 + offsetSeconds), StandardWebhooks.DefaultTolerance);

        Assert.True(result.IsValid, result.Failure);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1614265330.5")]
    [InlineData("-1614265330")]
    [InlineData(" 1614265330")]
    [InlineData("99999999999999999999999")]
    public void Verify_NonNumericTimestamp_IsInvalid(string timestamp)
    {
        var result = Verify1(Headers(Id1, timestamp, Signature1));

        Assert.False(result.IsValid);
        Assert.Equal("header webhook-timestamp is not a Unix timestamp in seconds", result.Failure);
    }

    [Fact]
    public void Verify_BodyChangedByOneByte_IsInvalid()
    {
        byte[] body = Encoding.UTF8.GetBytes(Body1);
        body[^2] ^= 0x01;

        var result = StandardWebhooks.Verify(Key(Secret1), Headers(Id1, Timestamp1.ToString(), Signature1), body, At(Timestamp1), StandardWebhooks.DefaultTolerance);

        Assert.False(result.IsValid);
        Assert.Equal("signature mismatch", result.Failure);
    }

    [Fact]
    public void Verify_IdChanged_IsInvalid()
    {
        var result = Verify1(Headers(Id1 + "x", Timestamp1.ToString(), Signature1));

        Assert.False(result.IsValid);
    }

    [Fact]
    public void Verify_WrongKey_IsInvalid()
    {
        var result = StandardWebhooks.Verify(Key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"), Headers(Id1, Timestamp1.ToString(), Signature1), Encoding.UTF8.GetBytes(Body1), At(Timestamp1), StandardWebhooks.DefaultTolerance);

        Assert.False(result.IsValid);
    }

    [Fact]
    public void Verify_EmptyKey_FailsClosed()
    {
        string forged = StandardWebhooksSignWithEmptyKey();

        var result = StandardWebhooks.Verify([], Headers(Id1, Timestamp1.ToString(), forged), Encoding.UTF8.GetBytes(Body1), At(Timestamp1), StandardWebhooks.DefaultTolerance);

        Assert.False(result.IsValid);
        Assert.Equal("signature verification is misconfigured", result.Failure);
    }

    [Fact]
    public void Sign_EmptyKey_Throws()
    {
        Assert.Throws<ArgumentException>(() => StandardWebhooks.Sign([], Id1, Timestamp1, Encoding.UTF8.GetBytes(Body1)));
    }

    [Fact]
    public void Verify_Mismatch_FailureRevealsNoSecretOrSignature()
    {
        const string received = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        byte[] key = Key(Secret1);

        var result = Verify1(Headers(Id1, Timestamp1.ToString(), received));

        Assert.False(result.IsValid);
        Assert.NotNull(result.Failure);
        Assert.DoesNotContain(Secret1["whsec_".Length..], result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(key), result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(received[3..], result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Signature1[3..], result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void SignThenVerify_LongIdAndLargeBody_IsValid()
    {
        byte[] key = Key(Secret1);
        string id = new('i', 600);
        byte[] body = new byte[10_000];
        new Random(42).NextBytes(body);
        string signature = StandardWebhooks.Sign(key, id, Timestamp1, body);

        Assert.True(StandardWebhooks.Verify(key, Headers(id, Timestamp1.ToString(), signature), body, At(Timestamp1), StandardWebhooks.DefaultTolerance).IsValid);
        body[5_000] ^= 0x80;
        Assert.False(StandardWebhooks.Verify(key, Headers(id, Timestamp1.ToString(), signature), body, At(Timestamp1), StandardWebhooks.DefaultTolerance).IsValid);
    }

    [Fact]
    public void Sign_LongIdAndLargeBody_MatchesIndependentHmac()
    {
        byte[] key = Key(Secret1);
        string id = new('i', 600);
        byte[] body = new byte[10_000];
        new Random(7).NextBytes(body);
        byte[] content = [.. Encoding.UTF8.GetBytes($"{id}.{Timestamp1}."), .. body];

        string expected = "v1," + Convert.ToBase64String(System.Security.Cryptography.HMACSHA256.HashData(key, content));

        Assert.Equal(expected, StandardWebhooks.Sign(key, id, Timestamp1, body));
    }

    [Fact]
    public void TryDecodeSecret_WithPrefix_ReturnsBase64Bytes()
    {
        Assert.True(StandardWebhooks.TryDecodeSecret(Secret1, out byte[] key));
        Assert.Equal(Convert.FromBase64String("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), key);
    }

    [Fact]
    public void TryDecodeSecret_WithoutPrefix_ReturnsBase64Bytes()
    {
        Assert.True(StandardWebhooks.TryDecodeSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", out byte[] key));
        Assert.Equal(Convert.FromBase64String("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), key);
    }

    [Theory]
    [InlineData("whsec_not base64!")]
    [InlineData("whsec_abc")]
    [InlineData("whsec_")]
    [InlineData("")]
    [InlineData("%%%%")]
    public void TryDecodeSecret_Undecodable_ReturnsFalse(string secret)
    {
        Assert.False(StandardWebhooks.TryDecodeSecret(secret, out byte[] key));
        Assert.Empty(key);
    }

    private static string StandardWebhooksSignWithEmptyKey() =>
        "v1," + Convert.ToBase64String(System.Security.Cryptography.HMACSHA256.HashData(Array.Empty<byte>(), Encoding.UTF8.GetBytes($"{Id1}.{Timestamp1}.{Body1}")));

    private static VerificationResult Verify1(HeaderDictionary headers) =>
        StandardWebhooks.Verify(Key(Secret1), headers, Encoding.UTF8.GetBytes(Body1), At(Timestamp1), StandardWebhooks.DefaultTolerance);

    private static byte[] Key(string secret)
    {
        Assert.True(StandardWebhooks.TryDecodeSecret(secret, out byte[] key));
        return key;
    }

    private static DateTimeOffset At(long unixSeconds) => DateTimeOffset.FromUnixTimeSeconds(unixSeconds);

    private static HeaderDictionary Headers(string id, string timestamp, string signature) => new()
    {
        [StandardWebhooks.IdHeader] = id,
        [StandardWebhooks.TimestampHeader] = timestamp,
        [StandardWebhooks.SignatureHeader] = signature,
    };
}
