using System.Net;
using Microsoft.AspNetCore.Http.Features;
using Relay.Configuration;

namespace Relay.Admin.Console;

/// <summary>
/// The operator console under <c>/admin/ui/</c>: static pages whose scripts call the admin API with <c>fetch</c>,
/// and the session that lets them (sign in with an admin key, sign out). Served wherever the admin API is (its own
/// port when <c>admin.urls</c> is set), off (404) when no admin key is configured, and always under a strict CSP.
/// </summary>
internal static partial class ConsoleEndpoints
{
    public const string Prefix = "/admin/ui";

    /// <summary>Only the relay's own scripts and styles; no inline code, no other origin, no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>Largest sign-in form read: one field holding a key.</summary>
    public const int MaxSignInBody = 4 * 1024;

    /// <summary>Where sign-in.html shows why a plain (script-less) form post was refused.</summary>
    private const string ErrorSlot = "<!--sign-in-error-->";

    private const string WrongKey = "That admin key is not valid. Use one of admin.apiKeys.";

    private static readonly FormOptions SignInForm = new() { ValueCountLimit = 4, KeyLengthLimit = 32, ValueLengthLimit = MaxSignInBody };

    public static void MapRelayConsole(this WebApplication app)
    {
        var ui = app.MapGroup(Prefix).AddEndpointFilter<ConsoleResponseFilter>().DisableAntiforgery();
        ui.MapGet("/", Index);
        ui.MapGet("/sign-in", SignInPage);
        ui.MapPost("/session", SignInAsync);
        ui.MapPost("/session/sign-out", SignOut);
        ui.MapDelete("/session", SignOut);
        ui.MapGet("/{file}", Asset);
        ui.Map("{**rest}", (HttpRequest request) => AdminProblems.NotFound("Not found", $"No console page {request.Method} {request.Path}."));
    }

    /// <summary>The console itself; a browser without a valid session is sent to the sign-in page.</summary>
    private static IResult Index(HttpContext context, RelayConfigProvider config, TimeProvider time)
    {
        var request = context.Request;
        if (request.Path.Value?.EndsWith('/') != true)
        {
            // The pages use relative links, which need the trailing slash.
            return Results.Redirect($"{request.PathBase}{Prefix}/");
        }

        return CurrentSession(request, config, time) is null
            ? Results.Redirect($"{request.PathBase}{Prefix}/sign-in")
            : Page(ConsoleAssets.Get("index.html").Bytes);
    }

    private static IResult SignInPage(HttpContext context, RelayConfigProvider config, TimeProvider time) =>
        CurrentSession(context.Request, config, time) is null
            ? Page(ConsoleAssets.Get("sign-in.html").Bytes)
            : Results.Redirect($"{context.Request.PathBase}{Prefix}/");

    /// <summary>A script, a style sheet or an icon; revalidated by ETag. Pages go through their own routes.</summary>
    private static IResult Asset(string file, HttpContext context)
    {
        if (!ConsoleAssets.Files.TryGetValue(file, out var asset) || asset.IsPage)
        {
            return AdminProblems.NotFound("Not found", $"No console file '{file}'.");
        }

        var headers = context.Response.Headers;
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        return context.Request.Headers.IfNoneMatch.ToString() == asset.ETag
            ? Results.StatusCode(StatusCodes.Status304NotModified)
            : Results.Bytes(asset.Bytes, asset.ContentType);
    }

    /// <summary>
    /// <c>POST /admin/ui/session</c> with the form field <c>key</c>: checks it like a bearer key (constant time,
    /// every key) and sets the session and CSRF cookies. Answers JSON to the page's script (204, or a 401 problem it
    /// shows) and, to a plain form post, a redirect to the console or the sign-in page again with the error.
    /// The key is never echoed, logged or put in a URL.
    /// </summary>
    private static async Task<IResult> SignInAsync(HttpContext context, RelayConfigProvider config, TimeProvider time, ILoggerFactory loggers)
    {
        var request = context.Request;
        var logger = loggers.CreateLogger(AdminEndpoints.LogCategory);
        var remote = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (!SameOrigin.Allows(request))
        {
            Log.SignInRefused(logger, remote, "the form was posted from another origin");
            return AdminProblems.Forbidden("Sign in from the console's own sign-in page.");
        }

        if (!request.HasFormContentType || request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) != true)
        {
            return AdminProblems.UnsupportedMediaType("Post the sign-in form as application/x-www-form-urlencoded with one field, key.");
        }

        if (request.ContentLength > MaxSignInBody)
        {
            return AdminProblems.TooLarge($"The sign-in form is larger than {MaxSignInBody} bytes.");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = MaxSignInBody;
        }

        string key;
        try
        {
            key = (await request.ReadFormAsync(SignInForm, context.RequestAborted).ConfigureAwait(false))["key"].ToString();
        }
        catch (Exception ex) when (ex is BadHttpRequestException or InvalidDataException)
        {
            return AdminProblems.TooLarge($"The sign-in form is larger than {MaxSignInBody} bytes.");
        }

        var keys = config.Current.Config.Admin.ApiKeys;
        if (key.Length == 0 || !AdminAuthFilter.IsKnown(key, keys))
        {
            Log.SignInRefused(logger, remote, "the key is not one of admin.apiKeys");
            if (WantsJson(request))
            {
                return AdminProblems.Unauthorized(WrongKey);
            }

            var page = System.Text.Encoding.UTF8.GetString(ConsoleAssets.Get("sign-in.html").Bytes).Replace(ErrorSlot, WebUtility.HtmlEncode(WrongKey), StringComparison.Ordinal);
            return Results.Content(page, "text/html; charset=utf-8", statusCode: StatusCodes.Status401Unauthorized);
        }

        var session = ConsoleSession.Issue(key, time.GetUtcNow());
        var cookies = context.Response.Cookies;
        cookies.Append(ConsoleSession.CookieName, session.Token, CookieOptions(request, httpOnly: true, session.ExpiresAt));
        cookies.Append(ConsoleSession.CsrfCookieName, session.Csrf, CookieOptions(request, httpOnly: false, session.ExpiresAt));
        Log.SignedIn(logger, ConsoleSession.KeyId(key), remote);
        if (WantsJson(request))
        {
            return Results.NoContent();
        }

        context.Response.Headers.Location = $"{request.PathBase}{Prefix}/";
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    /// <summary>Clears both cookies. With a live session it needs the CSRF header, so another site cannot sign an operator out.</summary>
    private static IResult SignOut(HttpContext context, RelayConfigProvider config, TimeProvider time, ILoggerFactory loggers)
    {
        var request = context.Request;
        var session = CurrentSession(request, config, time);
        if (session is not null && !(ConsoleSession.CsrfMatches(session, request.Headers[ConsoleSession.CsrfHeader]) && SameOrigin.Allows(request)))
        {
            return AdminProblems.Forbidden($"Sign out from the console, which sends the {ConsoleSession.CsrfHeader} header.");
        }

        var expired = DateTimeOffset.UnixEpoch;
        context.Response.Cookies.Append(ConsoleSession.CookieName, "", CookieOptions(request, httpOnly: true, expired));
        context.Response.Cookies.Append(ConsoleSession.CsrfCookieName, "", CookieOptions(request, httpOnly: false, expired));
        if (session is not null)
        {
            Log.SignedOut(loggers.CreateLogger(AdminEndpoints.LogCategory), session.KeyId);
        }

        return Results.NoContent();
    }

    private static VerifiedSession? CurrentSession(HttpRequest request, RelayConfigProvider config, TimeProvider time) =>
        ConsoleSession.Verify(request.Cookies[ConsoleSession.CookieName], config.Current.Config.Admin.ApiKeys, time.GetUtcNow());

    private static CookieOptions CookieOptions(HttpRequest request, bool httpOnly, DateTimeOffset expires) => new()
    {
        HttpOnly = httpOnly,
        SameSite = SameSiteMode.Strict,
        Secure = request.IsHttps,
        Path = ConsoleSession.CookiePath,
        Expires = expires,
    };

    private static IResult Page(byte[] html) => Results.Bytes(html, "text/html; charset=utf-8");

    private static bool WantsJson(HttpRequest request) => request.Headers.Accept.ToString().Contains("application/json", StringComparison.OrdinalIgnoreCase);

    private static partial class Log
    {
        [LoggerMessage(4201, LogLevel.Information, "Admin console: signed in with admin key {KeyId} from {Remote}.")]
        public static partial void SignedIn(ILogger logger, string keyId, string remote);

        [LoggerMessage(4202, LogLevel.Debug, "Admin console: sign-in from {Remote} refused: {Reason}.")]
        public static partial void SignInRefused(ILogger logger, string remote, string reason);

        [LoggerMessage(4203, LogLevel.Information, "Admin console: signed out (admin key {KeyId}).")]
        public static partial void SignedOut(ILogger logger, string keyId);
    }
}

/// <summary>
/// On every console response: the security headers (strict CSP, nosniff, no referrer, no caching unless an asset
/// says otherwise), and 404 when no admin key is configured, as the admin API does.
/// </summary>
internal sealed class ConsoleResponseFilter(RelayConfigProvider config) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var headers = context.HttpContext.Response.Headers;
        headers.ContentSecurityPolicy = ConsoleEndpoints.ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers.CacheControl = "no-store";
        return config.Current.Config.Admin.ApiKeys.Count == 0
            ? ValueTask.FromResult<object?>(AdminProblems.NotFound("Admin console disabled", "The admin console is disabled: set admin.apiKeys to enable it."))
            : next(context);
    }
}
