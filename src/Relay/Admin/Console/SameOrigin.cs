namespace Relay.Admin.Console;

/// <summary>
/// Whether a browser request comes from a page of the relay itself, read from its <c>Origin</c> header: absent (a
/// same-origin GET, or a client that is not a browser) or naming the host and port the request was sent to. The
/// scheme is not compared, so a relay behind a TLS-terminating proxy still recognises its own https pages; a cross-site
/// page cannot choose the <c>Host</c> the victim's browser sends.
/// </summary>
internal static class SameOrigin
{
    public static bool Allows(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !request.Host.HasValue)
        {
            return false;
        }

        var port = request.Host.Port ?? (uri.Scheme == "https" ? 443 : 80);
        return string.Equals(uri.Host, request.Host.Host, StringComparison.OrdinalIgnoreCase) && uri.Port == port;
    }
}
