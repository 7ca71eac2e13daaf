using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.Load;

/// <summary>How a sink answers; the harness switches it while a scenario runs (slow target, outage).</summary>
internal enum SinkBehaviour
{
    /// <summary>200 at once.</summary>
    Healthy,

    /// <summary>200 after <see cref="Sink.SlowDelay"/>: a downstream app that is alive but sluggish.</summary>
    Slow,

    /// <summary>503 at once: a downstream app that is down behind its load balancer.</summary>
    Unavailable,
}

/// <summary>One delivery as a sink saw it, handed to whoever watches the sink (console printer or ledger).</summary>
internal readonly record struct Arrival(string Sink, HttpRequest Request, byte[] Body, long Timestamp)
{
    /// <summary>Number of the load event, carried in a vendor header the relay replays unchanged.</summary>
    public const string EventHeader = "X-Load-Event";

    public string Header(string name) => Request.Headers[name].ToString();
}

/// <summary>
/// A real Kestrel server on a loopback port standing in for a downstream app: reads each delivery, reports it, and
/// answers as its <see cref="Behaviour"/> says. The same server serves the README's console sink and the benchmark.
/// </summary>
internal sealed class Sink : IAsyncDisposable
{
    public static readonly TimeSpan SlowDelay = TimeSpan.FromSeconds(2);

    private readonly WebApplication _app;
    private readonly Action<Arrival> _onArrival;
    private int _behaviour;

    private Sink(string name, WebApplication app, Action<Arrival> onArrival)
    {
        Name = name;
        _app = app;
        _onArrival = onArrival;
    }

    public string Name { get; }

    public Uri Url { get; private set; } = null!;

    public SinkBehaviour Behaviour
    {
        get => (SinkBehaviour)Volatile.Read(ref _behaviour);
        set => Volatile.Write(ref _behaviour, (int)value);
    }

    /// <summary>Starts a sink on 127.0.0.1:<paramref name="port"/> (0 picks a free port).</summary>
    public static async Task<Sink> StartAsync(string name, int port, Action<Arrival> onArrival)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        var sink = new Sink(name, app, onArrival);
        app.Run(sink.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        sink.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return sink;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await _app.StopAsync(stop.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        // Arrival time is taken before the body is read: that is when the relay's delivery reached the app.
        var arrivedAt = Stopwatch.GetTimestamp();
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        var behaviour = Behaviour;
        if (behaviour == SinkBehaviour.Unavailable)
        {
            // A refused delivery is not an arrival: the relay must try again, and only the later success counts.
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        if (behaviour == SinkBehaviour.Slow)
        {
            await Task.Delay(SlowDelay, context.RequestAborted).ConfigureAwait(false);
        }

        // Counted only once the answer is about to be a success, so an aborted slow delivery is not counted as delivered.
        _onArrival(new Arrival(Name, context.Request, buffer.ToArray(), arrivedAt));
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentLength = 0;
    }
}
