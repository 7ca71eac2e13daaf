using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// A real Kestrel server on 127.0.0.1 for the stand-ins the tests and the load harness run beside the relay (targets,
/// vendors): no logging and no Server header, so it costs as little as Kestrel can when the harness measures through it.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>Starts a server on 127.0.0.1:<paramref name="port"/> (0 picks a free port) with the endpoints <paramref name="map"/> adds.</summary>
    public static async Task<LoopbackServer> StartAsync(int port, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        map(app);
        await app.StartAsync().ConfigureAwait(false);
        var url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new LoopbackServer(app, url);
    }

    /// <summary>
    /// A port nothing listens on right now, for a server that must be told its port up front. Taken below the kernel's
    /// ephemeral range (32768 and up on Linux): a port asked for with 0, as the embedded store and every outgoing
    /// connection do, can then never be handed out again between this probe and the server's bind.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException) when (attempt < 100)
            {
                // Taken: try another.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A request a test left hanging must not hold up the test's end for longer than a second.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await _app.StopAsync(stop.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
