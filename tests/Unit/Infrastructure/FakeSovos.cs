using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// A real Kestrel server standing in for Sovos Signer: an OAuth2 token endpoint (client_secret_basic, audience form
/// field, short-lived tokens, counted) and the notification stream (SSE or NDJSON), driven per connection by
/// <see cref="OnSubscribe"/>. Counts connections and the most subscribers it ever had open at once.
/// </summary>
internal sealed class FakeSovos : IAsyncDisposable
{
    public const string ClientId = "relay-client";

    /// <summary>Planted so tests can prove it never reaches a log line.</summary>
    public const string ClientSecret = "planted-client-secret-7f3a9c";

    /// <summary>The signature part of the presigned document URLs in <see cref="Notification"/>; must never be logged.</summary>
    public const string PresignedSignature = "planted0amz0signature0d41d8cd98f00b204e9800998ecf8427e";

    public const string Audience = "signer.trust.sovos.com";

    private readonly ConcurrentDictionary<string, DateTimeOffset> _validTokens = new();
    private readonly ConcurrentQueue<string> _issued = new();
    private readonly ConcurrentDictionary<int, Channel<string>> _subscribers = new();
    private int _streamRequests;
    private int _withheld;
    private int _connects;
    private int _open;
    private int _maxOpen;
    private int _refused;
    private LoopbackServer _server = null!;

    /// <summary>Drives one accepted stream connection (numbered from 1); returning ends the response.</summary>
    public Func<Subscriber, Task> OnSubscribe { get; set; } = static s => s.ForwardPublishedAsync();

    /// <summary>
    /// Whether to withhold the answer to a stream request (numbered from 1, whether accepted or not): it gets no status
    /// and no headers, ever, until the relay gives up and closes the connection.
    /// </summary>
    public Func<int, bool> WithholdHeaders { get; set; } = static _ => false;

    /// <summary>Frame as newline-delimited JSON (<c>application/x-ndjson</c>) instead of SSE.</summary>
    public bool NdJson { get; set; }

    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    public Uri Url => _server.Url;

    public Uri StreamUrl => new(Url, "events/v1/subscribe");

    public Uri TokenUrl => new(Url, "oauth2/token");

    public IReadOnlyList<string> TokensIssued => [.. _issued];

    /// <summary>Stream connections accepted (200 and streaming).</summary>
    public int Connects => Volatile.Read(ref _connects);

    /// <summary>Stream requests left without an answer (<see cref="WithholdHeaders"/>) that the relay has given up on.</summary>
    public int Withheld => Volatile.Read(ref _withheld);

    /// <summary>Stream requests refused with 401 (unknown, revoked or expired token).</summary>
    public int Refused => Volatile.Read(ref _refused);

    public int OpenSubscribers => Volatile.Read(ref _open);

    public int MaxOpenSubscribers => Volatile.Read(ref _maxOpen);

    public static async Task<FakeSovos> StartAsync()
    {
        var sovos = new FakeSovos();
        sovos._server = await LoopbackServer.StartAsync(0, app =>
        {
            app.MapPost("/oauth2/token", sovos.IssueTokenAsync);
            app.MapGet("/events/v1/subscribe", sovos.StreamAsync);
        });
        return sovos;
    }

    /// <summary>A notification as Sovos documents it, with presigned document URLs carrying <see cref="PresignedSignature"/>.</summary>
    public static string Notification(string envelopeId, string status) =>
        $$$$"""{"result":{"message":{"@type":"type.googleapis.com/scs.notifications.v1alpha1.NotificationMessage","initiative":"b0a09235-b87a-4a06-a9ff-bb0b51855ebe","envelopeId":"{{{{envelopeId}}}}","status":"{{{{status}}}}","reason":"","documentFiles":["http://host.docker.internal:9000/ssa-storage/{{{{envelopeId}}}}/mi%20documento.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={{{{PresignedSignature}}}}"],"generatedFiles":["http://host.docker.internal:9000/ssa-storage/{{{{envelopeId}}}}/audit_sheet.pdf?X-Amz-Signature={{{{PresignedSignature}}}}"]}}}""";

    /// <summary>The <c>sovos</c> source block of relay.yaml pointing at this fake.</summary>
    public string SourceYaml(string id, string routes, string extra = "") => $"""
          {id}:
            kind: sovos-sse
            url: "{StreamUrl}"
            tokenUrl: "{TokenUrl}"
            clientId: {ClientId}
            clientSecret: {ClientSecret}
            audience: {Audience}
            reconnect: {"{"} initialDelay: 100ms, maxDelay: 500ms {"}"}
            routes: {routes}
        {extra}
        """;

    /// <summary>Every token issued so far is refused from now on, as after a key rotation at Sovos.</summary>
    public void RevokeTokens() => _validTokens.Clear();

    /// <summary>Sends a frame to every open subscriber that is forwarding published frames.</summary>
    public void Publish(string json)
    {
        foreach (var channel in _subscribers.Values)
        {
            channel.Writer.TryWrite(json);
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> stream connections have been accepted.</summary>
    public async Task WaitForConnectsAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (Connects < count)
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Expected {count} stream connections, got {Connects}.");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _subscribers.Values)
        {
            channel.Writer.TryComplete();
        }

        await _server.DisposeAsync();
    }

    private async Task IssueTokenAsync(HttpContext context)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ClientId}:{ClientSecret}"));
        if (context.Request.Headers.Authorization.ToString() != expected)
        {
            context.Response.StatusCode = 401;
            await context.Response.WriteAsJsonAsync(new { error = "invalid_client", error_description = "bad client credentials" });
            return;
        }

        var form = await context.Request.ReadFormAsync();
        if (form["grant_type"] != "client_credentials" || form["audience"] != Audience)
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsJsonAsync(new { error = "invalid_request" });
            return;
        }

        var token = $"tok-{_issued.Count + 1}-{Guid.NewGuid():N}";
        _validTokens[token] = DateTimeOffset.UtcNow + TokenLifetime;
        _issued.Enqueue(token);
        await context.Response.WriteAsJsonAsync(new { access_token = token, token_type = "Bearer", expires_in = (int)TokenLifetime.TotalSeconds });
    }

    private async Task StreamAsync(HttpContext context)
    {
        if (WithholdHeaders(Interlocked.Increment(ref _streamRequests)))
        {
            // Kestrel sends nothing until the response is written to or completed.
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(static _ => { }, TaskScheduler.Default);
            Interlocked.Increment(ref _withheld);
            return;
        }

        var presented = context.Request.Headers.Authorization.ToString();
        var token = presented.StartsWith("Bearer ", StringComparison.Ordinal) ? presented["Bearer ".Length..] : "";
        if (!_validTokens.TryGetValue(token, out var expires) || expires < DateTimeOffset.UtcNow
            || !context.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _refused);
            context.Response.StatusCode = 401;
            return;
        }

        var number = Interlocked.Increment(ref _connects);
        var open = Interlocked.Increment(ref _open);
        for (var max = Volatile.Read(ref _maxOpen); open > max && Interlocked.CompareExchange(ref _maxOpen, open, max) != max; max = Volatile.Read(ref _maxOpen))
        {
        }

        var channel = Channel.CreateUnbounded<string>();
        _subscribers[number] = channel;
        try
        {
            context.Response.ContentType = NdJson ? "application/x-ndjson" : "text/event-stream";
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await OnSubscribe(new Subscriber(number, context, NdJson, channel.Reader));
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The relay went away.
        }
        finally
        {
            _subscribers.TryRemove(number, out _);
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>One open stream connection, as a test script drives it.</summary>
    internal sealed class Subscriber(int number, HttpContext context, bool ndJson, ChannelReader<string> published)
    {
        public int Number => number;

        public Task EventAsync(string json) => WriteAsync(ndJson ? json + "\n" : $"event: message\ndata: {json}\n\n");

        /// <summary>A keep-alive: an SSE comment, or a blank line in NDJSON.</summary>
        public Task HeartbeatAsync() => WriteAsync(ndJson ? "\n" : ": keep-alive\n\n");

        public Task ErrorAsync(int code, string message) =>
            EventAsync($$$$"""{"error":{"code":{{{{code}}}},"message":"{{{{message}}}}","details":[]}}""");

        public Task RawAsync(string text) => WriteAsync(text);

        /// <summary>Keeps the connection open, sending nothing, until the relay closes it.</summary>
        public Task WaitForDisconnectAsync() => Task.Delay(Timeout.Infinite, context.RequestAborted);

        /// <summary>Cuts the connection mid-stream, without an end of response.</summary>
        public void Drop() => context.Abort();

        /// <summary>Sends whatever <see cref="Publish"/> sends, until the relay disconnects.</summary>
        public async Task ForwardPublishedAsync()
        {
            await foreach (var json in published.ReadAllAsync(context.RequestAborted))
            {
                await EventAsync(json);
            }
        }

        private async Task WriteAsync(string text)
        {
            await context.Response.WriteAsync(text, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }
}
