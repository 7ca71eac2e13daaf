using System.Security.Cryptography;
using System.Text;
using Relay.Admin.Console;
using Relay.Configuration;

namespace Relay.Admin;

/// <summary>
/// Who may call the admin API: <c>Authorization: Bearer &lt;key&gt;</c> with one of <c>admin.apiKeys</c> of the
/// configuration in force, or the operator console's session cookie (<see cref="ConsoleSession"/>) signed by one of
/// them. A cookie is an ambient credential, so a call that changes something needs the session's CSRF value in the
/// <c>X-Relay-CSRF</c> header as well (and, when the browser sends one, the relay's own Origin); a bearer key is not,
/// and needs neither. Keys follow reloads, so a reload adds or revokes keys, and the sessions they signed, at once.
/// With no keys configured the admin API is disabled and answers 404 to everything, as if it were not there.
/// </summary>
internal sealed class AdminAuthFilter(RelayConfigProvider configProvider, TimeProvider time) : IEndpointFilter
{
    private const string Scheme = "Bearer";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var keys = configProvider.Current.Config.Admin.ApiKeys;
        if (keys.Count == 0)
        {
            return ValueTask.FromResult<object?>(AdminProblems.NotFound("Admin API disabled", "The admin API is disabled: set admin.apiKeys to enable it."));
        }

        var request = context.HttpContext.Request;
        var presented = BearerToken(request.Headers.Authorization.ToString());
        if (presented is not null)
        {
            return IsKnown(presented, keys) ? next(context) : Refuse(context.HttpContext, "The admin key is not valid.", invalidToken: true);
        }

        var cookie = request.Cookies[ConsoleSession.CookieName];
        if (cookie is not null)
        {
            if (ConsoleSession.Verify(cookie, keys, time.GetUtcNow()) is not { } session)
            {
                return Refuse(context.HttpContext, "The console session has expired or its key was removed: sign in again at /admin/ui/.", invalidToken: false);
            }

            if (!IsSafe(request.Method) && !(ConsoleSession.CsrfMatches(session, request.Headers[ConsoleSession.CsrfHeader]) && SameOrigin.Allows(request)))
            {
                return ValueTask.FromResult<object?>(AdminProblems.Forbidden(
                    $"A console call that changes something must come from the console's own page, with the {ConsoleSession.CsrfHeader} header set from the relay_csrf cookie."));
            }

            return next(context);
        }

        return Refuse(context.HttpContext, "Send an admin key as 'Authorization: Bearer <key>'.", invalidToken: false);
    }

    /// <summary>
    /// Compares SHA-256 digests in constant time, and checks every key without stopping at a match, so neither the
    /// length of a key nor which key matched shows in the response time. The console's sign-in uses it too.
    /// </summary>
    public static bool IsKnown(string presented, IReadOnlyList<string> keys)
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

    /// <summary>RFC 6750: name the scheme, and say the token was bad when one was sent.</summary>
    private static ValueTask<object?> Refuse(HttpContext context, string detail, bool invalidToken)
    {
        context.Response.Headers.WWWAuthenticate = invalidToken
            ? $"{Scheme} realm=\"relay-admin\", error=\"invalid_token\""
            : $"{Scheme} realm=\"relay-admin\"";
        return ValueTask.FromResult<object?>(AdminProblems.Unauthorized(detail));
    }

    private static bool IsSafe(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    private static string? BearerToken(string header) =>
        header.StartsWith(Scheme + " ", StringComparison.OrdinalIgnoreCase) && header.Length > Scheme.Length + 1
            ? header[(Scheme.Length + 1)..].Trim()
            : null;
}
