namespace Relay.Admin;

/// <summary>
/// Where the admin API answers. By default on the same listeners as everything else; when <c>admin.urls</c> is set,
/// only there: Kestrel listens on those URLs in addition to the normal ones, the admin port serves nothing but
/// <c>/admin</c>, and the other ports answer 404 for it. Decided by the port a connection arrived on, never by the
/// Host header, which any client can set.
/// </summary>
internal sealed class AdminListener
{
    private AdminListener(IReadOnlySet<int> ports) => Ports = ports;

    /// <summary>The local ports of the separate admin listener; empty when the admin API shares the normal ones.</summary>
    public IReadOnlySet<int> Ports { get; }

    public bool IsSeparate => Ports.Count > 0;

    /// <summary>
    /// Adds the <c>admin.urls</c> listeners next to the normal ones (<c>--urls</c>, <c>ASPNETCORE_URLS</c>,
    /// <c>ASPNETCORE_HTTP_PORTS</c>, else ASP.NET Core's default). Listening addresses are read at start-up only.
    /// </summary>
    public static AdminListener Configure(WebApplicationBuilder builder, string adminUrls, out string? error)
    {
        error = null;
        var admin = adminUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (admin.Length == 0)
        {
            return new AdminListener(new HashSet<int>());
        }

        var ports = new HashSet<int>();
        foreach (var url in admin)
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException)
            {
                error = $"admin.urls: '{url}' is not a listening address. Use e.g. http://127.0.0.1:9090.";
                return new AdminListener(ports);
            }

            if (address.Port <= 0)
            {
                error = $"admin.urls: '{url}' needs an explicit port, e.g. http://127.0.0.1:9090.";
                return new AdminListener(ports);
            }

            ports.Add(address.Port);
        }

        // Kestrel drops --urls once any endpoint is configured in code, so both lists go in as URLs together.
        builder.WebHost.UseUrls([.. MainUrls(builder.Configuration), .. admin]);
        return new AdminListener(ports);
    }

    private static string[] MainUrls(ConfigurationManager configuration)
    {
        var urls = configuration[WebHostDefaults.ServerUrlsKey];
        if (!string.IsNullOrWhiteSpace(urls))
        {
            return urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        var http = SplitPorts(configuration[WebHostDefaults.HttpPortsKey]).Select(p => $"http://*:{p}");
        var https = SplitPorts(configuration[WebHostDefaults.HttpsPortsKey]).Select(p => $"https://*:{p}");
        var fromPorts = http.Concat(https).ToArray();
        return fromPorts.Length > 0 ? fromPorts : ["http://localhost:5000"];
    }

    private static string[] SplitPorts(string? ports) =>
        (ports ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Keeps the admin API on its own port when <c>admin.urls</c> is set, and that port to the admin API.</summary>
internal sealed class AdminPortGate(RequestDelegate next, AdminListener listener)
{
    public Task InvokeAsync(HttpContext context)
    {
        var onAdminPort = listener.Ports.Contains(context.Connection.LocalPort);
        var isAdminPath = context.Request.Path.StartsWithSegments(AdminEndpoints.Prefix, StringComparison.OrdinalIgnoreCase);
        if (onAdminPort == isAdminPath)
        {
            return next(context);
        }

        var detail = onAdminPort ? "This port serves only the admin API under /admin." : "The admin API is served on its own port (admin.urls).";
        return AdminProblems.NotFound("Not found", detail).ExecuteAsync(context);
    }
}
