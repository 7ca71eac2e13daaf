using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Relay.Tests.Infrastructure;

/// <summary>How a fake target answers unless <see cref="FakeTarget.Respond"/> is replaced; the load harness switches it while a scenario runs.</summary>
internal enum TargetBehaviour
{
    /// <summary>200 at once.</summary>
    Healthy,

    /// <summary>200 after <see cref="FakeTarget.SlowDelay"/>: a downstream app that is alive but sluggish.</summary>
    Slow,

    /// <summary>503 at once: a downstream app that is down behind its load balancer.</summary>
    Unavailable,
}

/// <summary>A request as a fake target saw it, kept after the request is over.</summary>
internal sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body, DateTimeOffset At)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);

    public string Header(string name) => Headers.TryGetValue(name, out var v) ? v : "";
}

/// <summary>
/// A delivery a fake target accepted, handed to whoever watches it (the harness's ledger or console printer) while the
/// request is still open, so <see cref="Request"/> is valid only during that call.
/// </summary>
internal readonly record struct Arrival(string Target, HttpRequest Request, byte[] Body, long Timestamp)
{
    public string Header(string name) => Request.Headers[name].ToString();
}

/// <summary>
/// A real Kestrel server on a loopback port standing in for a downstream app. It answers with <see cref="Respond"/>,
/// by default as <see cref="Behaviour"/> says; tests replace it to fail, hang or answer slowly. Started for a test, it
/// records every request (<see cref="Received"/>, <see cref="WaitForAsync"/>). Started for the load harness, it records
/// nothing and hands each accepted delivery to a callback, because the harness measures throughput through it.
/// </summary>
internal sealed partial class FakeTarget : IAsyncDisposable
{
    public static readonly TimeSpan SlowDelay = TimeSpan.FromSeconds(2);

    private readonly Action<Arrival>? _onAccepted;
    private readonly ConcurrentQueue<ReceivedRequest>? _received;
    private readonly SemaphoreSlim? _arrived;
    private LoopbackServer _server = null!;
    private int _requests;
    private int _behaviour;

    private FakeTarget(string name, Action<Arrival>? onAccepted, bool recordRequests)
    {
        Name = name;
        _onAccepted = onAccepted;
        if (recordRequests)
        {
            _received = new ConcurrentQueue<ReceivedRequest>();
            _arrived = new SemaphoreSlim(0);
        }

        Respond = AnswerAsBehaviourAsync;
    }

    public string Name { get; }

    public Uri Url => _server.Url;

    public TargetBehaviour Behaviour
    {
        get => (TargetBehaviour)Volatile.Read(ref _behaviour);
        set => Volatile.Write(ref _behaviour, (int)value);
    }

    /// <summary>Decides the answer; receives the request and its 1-based number among all requests so far.</summary>
    public Func<HttpContext, int, Task> Respond { get; set; }

    public IReadOnlyList<ReceivedRequest> Received => [.. Recorded];

    private ConcurrentQueue<ReceivedRequest> Recorded =>
        _received ?? throw new InvalidOperationException($"Target {Name} was started with an arrival callback and records no requests.");

    /// <summary>Starts a target for a test, on 127.0.0.1:<paramref name="port"/> (0 picks a free port), recording every request.</summary>
    public static Task<FakeTarget> StartAsync(int port = 0) => StartAsync(new FakeTarget("target", onAccepted: null, recordRequests: true), port);

    /// <summary>
    /// Starts a target that records nothing and calls <paramref name="onAccepted"/> for every request it answers with
    /// a success: the load harness's sinks (0 picks a free port).
    /// </summary>
    public static Task<FakeTarget> StartAsync(string name, int port, Action<Arrival> onAccepted) =>
        StartAsync(new FakeTarget(name, onAccepted, recordRequests: false), port);

    /// <summary>Waits until at least <paramref name="count"/> requests have arrived.</summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var received = Recorded;
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (received.Count < count)
        {
            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Expected {count} requests at {Url}, got {received.Count}.");
            }

            await _arrived!.WaitAsync(left).ConfigureAwait(false);
        }

        return Received;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
        _arrived?.Dispose();
    }

    private static async Task<FakeTarget> StartAsync(FakeTarget target, int port)
    {
        target._server = await LoopbackServer.StartAsync(port, app => app.Run(target.HandleAsync)).ConfigureAwait(false);
        return target;
    }

    private async Task HandleAsync(HttpContext context)
    {
        // Arrival time is taken before the body is read: that is when the relay's delivery reached the app.
        var arrivedAt = Stopwatch.GetTimestamp();
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        var body = buffer.ToArray();

        // Respond may read the body again (e.g. to answer per event).
        context.Request.Body = new MemoryStream(body, writable: false);
        var number = Interlocked.Increment(ref _requests);
        _received?.Enqueue(new ReceivedRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "",
            context.Request.QueryString.Value ?? "",
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body,
            DateTimeOffset.UtcNow));
        try
        {
            await Respond(context, number).ConfigureAwait(false);

            // Reported only once the answer is a success: a refused delivery is not an arrival (the relay must try
            // again, and only the later success counts), and a slow one aborted mid-wait never gets here.
            if (_onAccepted is not null && context.Response.StatusCode is >= 200 and < 300)
            {
                _onAccepted(new Arrival(Name, context.Request, body, arrivedAt));
            }
        }
        finally
        {
            _arrived?.Release();
        }
    }

    private Task AnswerAsBehaviourAsync(HttpContext context, int number)
    {
        switch (Behaviour)
        {
            case TargetBehaviour.Unavailable:
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return Task.CompletedTask;
            case TargetBehaviour.Slow:
                return AnswerSlowlyAsync(context);
            default:
                Answer200(context);
                return Task.CompletedTask;
        }

        static async Task AnswerSlowlyAsync(HttpContext context)
        {
            await Task.Delay(SlowDelay, context.RequestAborted).ConfigureAwait(false);
            Answer200(context);
        }

        static void Answer200(HttpContext context)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentLength = 0;
        }
    }
}
