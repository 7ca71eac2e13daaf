using System.Security.Cryptography;
using System.Text;
using Relay.Configuration;

namespace Relay.Admin;

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c> against <c>admin.apiKeys</c> of the configuration in force, so a reload
/// adds or revokes keys at once. With no keys configured the admin API is disabled and answers 404 to everything,
/// as if it were not there.
/// </summary>
internal sealed class AdminAuthFilter(RelayConfigProvider configProvider) : IEndpointFilter
{
    private const string Scheme = "Bearer";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var keys = configProvider.Current.Config.Admin.ApiKeys;
        if (keys.Count == 0)
        {
            return ValueTask.FromResult<object?>(AdminProblems.NotFound("Admin API disabled", "The admin API is disabled: set admin.apiKeys to enable it."));
        }

        var presented = BearerToken(context.HttpContext.Request.Headers.Authorization.ToString());
        if (presented is not null && IsKnown(presented, keys))
        {
            return next(context);
        }

        // RFC 6750: name the scheme, and say the token was bad when one was sent.
        context.HttpContext.Response.Headers.WWWAuthenticate = presented is null
            ? $"{Scheme} realm=\"relay-admin\""
            : $"{Scheme} realm=\"relay-admin\", error=\"invalid_token\"";
        return ValueTask.FromResult<object?>(AdminProblems.Unauthorized(
            presented is null ? "Send an admin key as 'Authorization: Bearer <key>'." : "The admin key is not valid."));
    }

    private static string? BearerToken(string header) =>
        header.StartsWith(Scheme + " ", StringComparison.OrdinalIgnoreCase) && header.Length > Scheme.Length + 1
            ? header[(Scheme.Length + 1)..].Trim()
            : null;

    /// <summary>
    /// Compares SHA-256 digests in constant time, and checks every key without stopping at a match, so neither the
    /// length of a key nor which key matched shows in the response time.
    /// </summary>
    private static bool IsKnown(string presented, IReadOnlyList<string> keys)
    {
        Span<byte> presentedHash = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> keyHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), presentedHash);
        var known = false;
        foreach (var key in keys)
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(key), keyHash);
            known |= CryptographicOperations.FixedTimeEquals(presentedHash, keyHash);
        }

        return known;
    }
}
