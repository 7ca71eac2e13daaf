using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.Tests.Infrastructure;

/// <summary>A request as a fake target saw it.</summary>
internal sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body, DateTimeOffset At)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);

    public string Header(string name) => Headers.TryGetValue(name, out var v) ? v : "";
}

/// <summary>
/// A real Kestrel server on a loopback port standing in for a downstream app. Records every request and answers
/// with <see cref="Respond"/>, which tests replace to fail, hang or answer slowly.
/// </summary>
internal sealed class FakeTarget : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private readonly SemaphoreSlim _arrived = new(0);

    private FakeTarget(WebApplication app) => _app = app;

    /// <summary>Decides the answer; receives the request and its 1-based number among all requests so far.</summary>
    public Func<HttpContext, int, Task> Respond { get; set; } = static (ctx, _) =>
    {
        ctx.Response.StatusCode = 200;
        return Task.CompletedTask;
    };

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<ReceivedRequest> Received => [.. _received];

    public static async Task<FakeTarget> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var target = new FakeTarget(app);
        app.Run(target.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        target.Url = new Uri(address);
        return target;
    }

    /// <summary>Waits until at least <paramref name="count"/> requests have arrived.</summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (_received.Count < count)
        {
            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Expected {count} requests at {Url}, got {_received.Count}.");
            }

            await _arrived.WaitAsync(left);
        }

        return Received;
    }

    /// <summary>
    /// Waits for <paramref name="count"/> requests, then for a quiet spell, and asserts that no more came:
    /// how a test sees that a duplicate was not delivered again.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForExactlyAsync(int count, TimeSpan? quiet = null)
    {
        await WaitForAsync(count);
        await Task.Delay(quiet ?? TimeSpan.FromSeconds(1.5));
        Assert.Equal(count, _received.Count);
        return Received;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var request = new ReceivedRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "",
            context.Request.QueryString.Value ?? "",
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body.ToArray(),
            DateTimeOffset.UtcNow);
        _received.Enqueue(request);
        var number = _received.Count;
        try
        {
            await Respond(context, number);
        }
        finally
        {
            _arrived.Release();
        }
    }
}
