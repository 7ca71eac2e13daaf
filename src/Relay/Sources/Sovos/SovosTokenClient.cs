using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Relay.Sources.Sovos;

/// <summary>The token endpoint refused or failed; the message is safe to log (no secret, no token).</summary>
internal sealed class SovosTokenException(string message) : ConnectorException(message);

/// <summary>
/// OAuth2 client credentials for one Sovos source (client_secret_basic, with the <c>audience</c> form field Sovos
/// needs). The token is cached and reused across reconnects; it is fetched again shortly before it expires
/// (the later of 80% of its lifetime and 60 s before the end), or at once after the stream answered 401.
/// </summary>
internal sealed class SovosTokenClient(HttpClient http, SovosSseConfig config, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan MaxRefreshMargin = TimeSpan.FromSeconds(60);

    // Used when the endpoint does not say how long the token lives: refresh often rather than fail on a stale token.
    private static readonly TimeSpan AssumedLifetime = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _fetching = new(1, 1);
    private CachedToken? _cached;

    /// <summary>How many tokens this client has fetched; the connector state shows it.</summary>
    public int Fetched { get; private set; }

    public async Task<string> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh(Volatile.Read(ref _cached)) is { } token)
        {
            return token;
        }

        await _fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh(_cached) is { } fetchedMeanwhile)
            {
                return fetchedMeanwhile;
            }

            var cached = await FetchAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _cached, cached);
            return cached.AccessToken;
        }
        finally
        {
            _fetching.Release();
        }
    }

    public void Dispose() => _fetching.Dispose();

    /// <summary>Drops <paramref name="rejected"/> (the stream answered 401 to it), so the next call fetches a new one.</summary>
    public void Invalidate(string rejected)
    {
        var cached = Volatile.Read(ref _cached);
        if (cached is not null && cached.AccessToken == rejected)
        {
            Interlocked.CompareExchange(ref _cached, null, cached);
        }
    }

    /// <summary>When a token of <paramref name="lifetime"/> issued at <paramref name="issuedAt"/> is fetched again.</summary>
    public static DateTimeOffset RefreshAt(DateTimeOffset issuedAt, TimeSpan lifetime)
    {
        var margin = lifetime * 0.2 < MaxRefreshMargin ? lifetime * 0.2 : MaxRefreshMargin;
        return issuedAt + lifetime - margin;
    }

    private string? Fresh(CachedToken? cached) => cached is not null && time.GetUtcNow() < cached.RefreshAt ? cached.AccessToken : null;

    private async Task<CachedToken> FetchAsync(CancellationToken cancellationToken)
    {
        var issuedAt = time.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, config.TokenUrl);

        // client_secret_basic (RFC 6749 §2.3.1): id and secret are form-encoded before they are joined and base64'd.
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(config.ClientId)}:{Uri.EscapeDataString(config.ClientSecret)}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials"), new("audience", config.Audience) };
        if (config.Scope is not null)
        {
            form.Add(new("scope", config.Scope));
        }

        request.Content = new FormUrlEncodedContent(form);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new SovosTokenException($"token endpoint answered {(int)response.StatusCode}{OAuthError(body)}");
        }

        var (accessToken, lifetime) = ParseToken(body);
        Fetched++;
        return new CachedToken(accessToken, RefreshAt(issuedAt, lifetime));
    }

    private static (string AccessToken, TimeSpan Lifetime) ParseToken(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("access_token", out var token)
                || token.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(token.GetString()))
            {
                throw new SovosTokenException("token endpoint answered without an access_token");
            }

            var lifetime = root.TryGetProperty("expires_in", out var expires) && expires.ValueKind == JsonValueKind.Number
                && expires.TryGetDouble(out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : AssumedLifetime;
            return (token.GetString()!, lifetime);
        }
        catch (JsonException)
        {
            throw new SovosTokenException("token endpoint answered with a body that is not JSON");
        }
    }

    // The standard error code (invalid_client, invalid_grant...) tells an operator what to fix; descriptions are left out.
    private static string OAuthError(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String
                && error.GetString() is { Length: > 0 and <= 64 } code && code.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
                ? $" ({code})"
                : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    private sealed record CachedToken(string AccessToken, DateTimeOffset RefreshAt);
}
