using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Admin.Console;

/// <summary>
/// The console's session: a self-contained token <c>v1.&lt;keyId&gt;.&lt;expiresUnix&gt;.&lt;nonce&gt;.&lt;mac&gt;</c> kept in an
/// httpOnly cookie, signed with a key derived from the admin key that signed in. Any replica can check it (they all know
/// <c>admin.apiKeys</c>), no key ring is shared, and removing a key from the configuration ends its sessions at once.
/// The CSRF value is derived from the same key and the session's nonce, so it is bound to that one session.
/// </summary>
internal static class ConsoleSession
{
    public const string CookieName = "relay_session";
    public const string CsrfCookieName = "relay_csrf";
    public const string CsrfHeader = "X-Relay-CSRF";

    /// <summary>Both cookies are sent to the admin API and the console, and nowhere else on the relay's origin.</summary>
    public const string CookiePath = "/admin";

    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private const string Version = "v1";
    private const int KeyIdLength = 8;
    private const int NonceBytes = 16;
    private const int MaxTokenLength = 200;

    /// <summary>Replicas' clocks may differ a little; a token may expire this much later than one replica would issue it.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>A new session for <paramref name="key"/> (a configured admin key), valid for <see cref="Lifetime"/>.</summary>
    public static IssuedSession Issue(string key, DateTimeOffset now)
    {
        var expires = now + Lifetime;
        var nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(NonceBytes));
        var sessionKey = SessionKey(key);
        var payload = string.Create(CultureInfo.InvariantCulture, $"{Version}.{KeyId(key)}.{expires.ToUnixTimeSeconds()}.{nonce}");
        var token = payload + "." + Base64Url.EncodeToString(Mac(sessionKey, payload));
        return new IssuedSession(token, Csrf(sessionKey, nonce), DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds()));
    }

    /// <summary>
    /// The session the token proves, or null when it is malformed, expired, or signed by no key of
    /// <paramref name="keys"/>. Every key is tried, without stopping at a match, and MACs are compared in constant time.
    /// </summary>
    public static VerifiedSession? Verify(string? token, IReadOnlyList<string> keys, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return null;
        }

        var parts = token.Split('.');
        if (parts.Length != 5 || parts[0] != Version || parts[1].Length != KeyIdLength
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expiresUnix)
            || !Base64Url.IsValid(parts[3]) || !Base64Url.IsValid(parts[4]))
        {
            return null;
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(Math.Min(expiresUnix, DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
        if (expires <= now || expires > now + Lifetime + ClockSkew)
        {
            return null;
        }

        var presentedMac = Base64Url.DecodeFromChars(parts[4]);
        var payload = token[..token.LastIndexOf('.')];
        byte[]? matchedKey = null;
        foreach (var key in keys)
        {
            var sessionKey = SessionKey(key);
            var matches = CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(KeyId(key)), Encoding.ASCII.GetBytes(parts[1]))
                & CryptographicOperations.FixedTimeEquals(Mac(sessionKey, payload), presentedMac);
            if (matches)
            {
                matchedKey = sessionKey;
            }
        }

        return matchedKey is null ? null : new VerifiedSession(parts[1], expires, Csrf(matchedKey, parts[3]));
    }

    /// <summary>Whether <paramref name="presented"/> (the <c>X-Relay-CSRF</c> header) is this session's CSRF value, in constant time.</summary>
    public static bool CsrfMatches(VerifiedSession session, string? presented) =>
        !string.IsNullOrEmpty(presented)
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(session.Csrf), Encoding.UTF8.GetBytes(presented));

    /// <summary>Which admin key signed a session: the first 8 hex digits of its SHA-256, safe to log.</summary>
    public static string KeyId(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..KeyIdLength];

    private static byte[] SessionKey(string key) => SHA256.HashData(Encoding.UTF8.GetBytes("relay-console-session\n" + key));

    private static byte[] Mac(byte[] sessionKey, string payload) => HMACSHA256.HashData(sessionKey, Encoding.UTF8.GetBytes(payload));

    private static string Csrf(byte[] sessionKey, string nonce) => Base64Url.EncodeToString(HMACSHA256.HashData(sessionKey, Encoding.UTF8.GetBytes("csrf\n" + nonce)));
}

/// <summary>A session just issued: the cookie's token, the CSRF value the page sends back, and when both expire.</summary>
internal readonly record struct IssuedSession(string Token, string Csrf, DateTimeOffset ExpiresAt);

/// <summary>A session whose token checked out: the id of the key that signed it, its expiry, its expected CSRF value.</summary>
internal sealed record VerifiedSession(string KeyId, DateTimeOffset ExpiresAt, string Csrf);
