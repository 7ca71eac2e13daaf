using Relay.Admin.Console;

namespace Relay.Tests.Admin.Console;

/// <summary>The console's session token: self-contained, bound to the admin key that signed it, expiring.</summary>
public sealed class ConsoleSessionTests
{
    private const string Key = "console-session-key-0123456789";
    private const string OtherKey = "another-admin-key-9876543210";
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 11, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Issue_Token_HasVersionKeyIdExpiryNonceAndMac()
    {
        var session = ConsoleSession.Issue(Key, Now);

        var parts = session.Token.Split('.');
        Assert.Equal(5, parts.Length);
        Assert.Equal("v1", parts[0]);
        Assert.Equal(ConsoleSession.KeyId(Key), parts[1]);
        Assert.Matches("^[0-9a-f]{8}$", parts[1]);
        Assert.Equal((Now + ConsoleSession.Lifetime).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), parts[2]);
        Assert.Equal(Now + ConsoleSession.Lifetime, session.ExpiresAt);
        Assert.DoesNotContain(Key, session.Token, StringComparison.Ordinal);
        Assert.NotEqual(session.Token, ConsoleSession.Issue(Key, Now).Token);
    }

    [Fact]
    public void Verify_UntilExpiry_ValidThenNot()
    {
        var session = ConsoleSession.Issue(Key, Now);

        var verified = ConsoleSession.Verify(session.Token, [OtherKey, Key], Now.AddHours(11).AddMinutes(59));

        Assert.NotNull(verified);
        Assert.Equal(ConsoleSession.KeyId(Key), verified.KeyId);
        Assert.Equal(session.Csrf, verified.Csrf);
        Assert.Null(ConsoleSession.Verify(session.Token, [Key], Now + ConsoleSession.Lifetime));
    }

    [Fact]
    public void Verify_KeyRemovedFromConfig_SessionEnds()
    {
        var session = ConsoleSession.Issue(Key, Now);

        Assert.Null(ConsoleSession.Verify(session.Token, [OtherKey], Now));
        Assert.Null(ConsoleSession.Verify(session.Token, [], Now));
    }

    [Theory]
    [InlineData(1, "v2")]
    [InlineData(2, "00000000")]
    [InlineData(3, "9999999999")]
    [InlineData(4, "AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData(5, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Verify_AnyPartChanged_Refused(int part, string replacement)
    {
        var parts = ConsoleSession.Issue(Key, Now).Token.Split('.');
        parts[part - 1] = replacement;

        Assert.Null(ConsoleSession.Verify(string.Join('.', parts), [Key], Now));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1")]
    [InlineData("v1.a.b.c.d")]
    [InlineData("v1.12345678.123.nonce.mac.extra")]
    [InlineData("not a token at all")]
    public void Verify_Malformed_Refused(string? token) => Assert.Null(ConsoleSession.Verify(token, [Key], Now));

    [Fact]
    public void Verify_ExpiryFurtherAheadThanALifetime_Refused()
    {
        // Only a key holder can mint a token, but a token claiming a week must not be taken at its word.
        var later = ConsoleSession.Issue(Key, Now.AddDays(7));

        Assert.Null(ConsoleSession.Verify(later.Token, [Key], Now));
    }

    [Fact]
    public void Csrf_BoundToItsSession()
    {
        var one = ConsoleSession.Issue(Key, Now);
        var two = ConsoleSession.Issue(Key, Now);
        var verified = ConsoleSession.Verify(one.Token, [Key], Now)!;

        Assert.True(ConsoleSession.CsrfMatches(verified, one.Csrf));
        Assert.False(ConsoleSession.CsrfMatches(verified, two.Csrf));
        Assert.False(ConsoleSession.CsrfMatches(verified, ""));
        Assert.False(ConsoleSession.CsrfMatches(verified, null));
        Assert.False(ConsoleSession.CsrfMatches(verified, one.Csrf + "x"));
    }
}
