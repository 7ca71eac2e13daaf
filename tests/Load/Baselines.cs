using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;

namespace Relay.Load;

/// <summary>
/// The two servers the relay is measured against, each run as its own process (like the relay) by the hidden
/// <c>baseline</c> command: bare Kestrel answering <c>RECEIVED</c> (the ceiling for any ASP.NET Core app on this
/// machine) and a minimal YARP pass-through to it (what a plain reverse proxy in front of the app costs).
/// </summary>
internal static class Baselines
{
    public const string Kestrel = "kestrel";
    public const string Yarp = "yarp";

    /// <summary>Runs until killed by the harness (or stopped with Ctrl+C / SIGTERM when run by hand).</summary>
    public static async Task RunKestrelAsync(int port)
    {
        var app = Create(port, _ => { });
        app.Run(static async context =>
        {
            // Read the body like any webhook endpoint must, then answer.
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted).ConfigureAwait(false);
            context.Response.ContentLength = "RECEIVED".Length;
            await context.Response.WriteAsync("RECEIVED", context.RequestAborted).ConfigureAwait(false);
        });
        await app.RunAsync().ConfigureAwait(false);
    }

    public static async Task RunYarpAsync(int port, Uri upstream)
    {
        var app = Create(port, services => services.AddReverseProxy().LoadFromMemory(
            [new RouteConfig { RouteId = "all", ClusterId = "app", Match = new RouteMatch { Path = "{**catch-all}" } }],
            [new ClusterConfig { ClusterId = "app", Destinations = new Dictionary<string, DestinationConfig> { ["app"] = new() { Address = upstream.ToString() } } }]));
        app.MapReverseProxy();
        await app.RunAsync().ConfigureAwait(false);
    }

    private static WebApplication Create(int port, Action<IServiceCollection> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.AddServerHeader = false;
        });
        configure(builder.Services);
        return builder.Build();
    }
}
