using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Relay.Dispatch;
using Relay.Store;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;
using static Relay.Tests.Infrastructure.TestYaml;

namespace Relay.Tests.Dispatch;

/// <summary>
/// Delivery through the real relay: retries on the target's schedule, Retry-After, timeouts, dead letters, and one
/// target's failures leaving the others alone. Every test runs on the embedded store and on Redis.
/// </summary>
public sealed class DispatchTests
{
    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Dispatch_TargetFailsTwiceThenRecovers_DeliveredOnThirdAttempt(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, n) =>
        {
            ctx.Response.StatusCode = n <= 2 ? 503 : 200;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), YousignToCrm(Target(crm, schedule: "[100ms, 100ms, 100ms]")));

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, Signing.YousignEvent("retry-1")));

        var attempts = await crm.WaitForAsync(3);
        Assert.Equal(["1", "2", "3"], attempts.Select(a => a.Header("X-Relay-Attempt")));
        Assert.Single(attempts.Select(a => a.Header("webhook-id")).Distinct());
        Assert.Equal("delivered", await WaitForStateAsync(relay, attempts[0].Header("webhook-id"), "crm", "delivered"));
        Assert.Equal("3", (await EventStateAsync(relay, attempts[0].Header("webhook-id")))["crm.attempts"]);
    }

    /// <summary>
    /// Failure mode: a pool that does not keep connections alive (a new TCP connection, and its handshake, per
    /// delivery). 200 events to a target of concurrency 4 arrive over at most 4 connections, counted by the target and
    /// by the relay's own counter.
    /// </summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Dispatch_ManyEvents_ConnectionsToTheTargetAreReused(string storeName)
    {
        var connections = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, _) =>
        {
            connections.AddOrUpdate(ctx.Connection.Id, 1, static (_, n) => n + 1);
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), YousignToCrm(Target(crm)));
        using var opened = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), Relay.Telemetry.RelayMetrics.MeterName, "relay.dispatch.connections_opened");

        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
        {
            var answer = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, Signing.YousignEvent($"reuse-{i}", requestId: $"sr-{i}")), token);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        });

        Assert.Equal(200, (await crm.WaitForAsync(200)).Select(r => r.Header("webhook-id")).Distinct().Count());
        Assert.Equal(200, connections.Values.Sum());
        Assert.InRange(connections.Count, 1, 4);
        var counted = opened.GetMeasurementSnapshot();
        Assert.All(counted, m => Assert.Equal("crm", m.Tags["target"]));

        // Every connection the target saw was counted. The pool may also open one that carries nothing: a request that
        // waits for a connection starts opening one, and takes whichever is free first (seen: 4 opened, 3 used).
        Assert.InRange(counted.Sum(m => m.Value), connections.Count, 4);
    }

    /// <summary>
    /// Failure mode: a circuit breaker that opens during an outage and never lets a probe through again. In virtual
    /// time: nothing is sent while the break lasts on the relay's clock, then a probe closes the circuit and every event
    /// (retries and events handed back while open) arrives.
    /// </summary>
    [Fact]
    public async Task Dispatch_OutageOpensCircuit_TargetRecovers_EverythingDeliveredAfterTheBreak()
    {
        var time = new VirtualTime();
        var down = true;
        var delivered = new System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset>();
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, _) =>
        {
            var up = !Volatile.Read(ref down);
            ctx.Response.StatusCode = up ? 200 : 503;
            if (up)
            {
                delivered.TryAdd(ctx.Request.Headers["webhook-id"].ToString(), time.Now);
            }

            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(
            TestStore.Garnet, YousignToCrm(Target(crm, schedule: "[1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s]")), configure: time.Use);
        var dispatch = relay.Services.GetRequiredService<DispatchService>();
        var breakDuration = relay.Services.GetRequiredService<CircuitSettings>().BreakDuration;

        for (var i = 0; i < 12; i++)
        {
            await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, Signing.YousignEvent($"outage-{i}")));
        }

        // Ten failures in the sampling window open the circuit (the relay's clock stands still meanwhile).
        await crm.WaitForAsync(10);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (dispatch.CircuitOf("crm") != Polly.CircuitBreaker.CircuitState.Open && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(Polly.CircuitBreaker.CircuitState.Open, dispatch.CircuitOf("crm"));
        var openedAt = time.Now;
        var attemptsWhileOpen = crm.Received.Count;
        Volatile.Write(ref down, false);

        // Less than the break on the relay's clock: no probe yet, although the retries are long due.
        time.Clock.Advance(breakDuration - TimeSpan.FromSeconds(1));
        await Task.Delay(1500);
        Assert.Equal(attemptsWhileOpen, crm.Received.Count);

        Assert.True(await time.AdvanceUntilAsync(() => delivered.Count == 12, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)), $"{delivered.Count} of 12 delivered");
        Assert.Equal(Polly.CircuitBreaker.CircuitState.Closed, dispatch.CircuitOf("crm"));
        Assert.True(delivered.Min(p => p.Value) >= openedAt + breakDuration, "the first delivery after the outage came before the break was over");
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Dispatch_ScheduleExhausted_DeadLetteredWithReason(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, _) =>
        {
            ctx.Response.StatusCode = 500;
            return Task.CompletedTask;
        };
        var time = new VirtualTime();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), YousignToCrm(Target(crm, schedule: "[10s, 1m]")), configure: time.Use);

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, Signing.YousignEvent("dead-1")));

        Assert.True(await time.AdvanceUntilAsync(() => crm.Received.Count == 3, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20)));
        var id = crm.Received[0].Header("webhook-id");
        Assert.Equal("dead", await WaitForStateAsync(relay, id, "crm", "dead"));
        var state = await EventStateAsync(relay, id);
        Assert.Equal("3", state["crm.attempts"]);
        Assert.Contains("retries exhausted after 3 attempts: HTTP 500", state["crm.reason"]);
        Assert.True(await IsDeadAsync(relay, id, "crm"));

        // A day later on the relay's clock, a dead letter is still not retried.
        time.Clock.Advance(TimeSpan.FromDays(1));
        await Task.Delay(1500);
        Assert.Equal(3, crm.Received.Count);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Dispatch_ClientError_DeadLetteredAtOnceWhileOtherTargetsUnaffected(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        crm.Respond = (ctx, _) =>
        {
            ctx.Response.StatusCode = 422;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), $"""
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {YousignSecret}, routes: [{"{"} target: crm {"}"}, {"{"} target: archive {"}"}] {"}"}
            targets:
              crm: {Target(crm)}
              archive: {Target(archive)}
            """);

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, Signing.YousignEvent("reject-1")));

        var id = (await crm.WaitForAsync(1))[0].Header("webhook-id");
        Assert.Equal("dead", await WaitForStateAsync(relay, id, "crm", "dead"));
        Assert.Contains("rejected: HTTP 422", (await EventStateAsync(relay, id))["crm.reason"]);
        Assert.Single(await archive.WaitForAsync(1));
        Assert.Equal("delivered", await WaitForStateAsync(relay, id, "archive", "delivered"));
        await Task.Delay(1500);
        Assert.Single(crm.Received);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Dispatch_RetryAfter_NextAttemptWaitsAsAsked(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, n) =>
        {
            ctx.Response.StatusCode = n == 1 ? 429 : 200;
            if (n == 1)
            {
                ctx.Response.Headers.RetryAfter = "30";
            }

            return Task.CompletedTask;
        };
        var time = new VirtualTime();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), YousignToCrm(Target(crm, schedule: "[100ms]")), configure: time.Use);

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, Signing.YousignEvent("ra-1")));

        // The schedule says 100 ms; the target asked for 30 s, and the retry is due exactly then on the relay's clock.
        var id = (await crm.WaitForAsync(1))[0].Header("webhook-id");
        Assert.Equal("retrying", await WaitForStateAsync(relay, id, "crm", "retrying"));
        Assert.Equal((time.Now + TimeSpan.FromSeconds(30)).ToUnixTimeMilliseconds(), long.Parse((await EventStateAsync(relay, id))["crm.next"], System.Globalization.CultureInfo.InvariantCulture));

        time.Clock.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(1500);
        Assert.Single(crm.Received);

        Assert.True(await time.AdvanceUntilAsync(() => crm.Received.Count == 2, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)));
        Assert.Equal("delivered", await WaitForStateAsync(relay, id, "crm", "delivered"));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Dispatch_TargetHangs_TimesOutAndRetries(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = async (ctx, n) =>
        {
            if (n == 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted).ContinueWith(_ => { });
            }

            ctx.Response.StatusCode = 200;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), YousignToCrm(Target(crm, schedule: "[100ms]", timeout: "500ms")));

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, Signing.YousignEvent("hang-1")));

        var attempts = await crm.WaitForAsync(2);
        var id = attempts[0].Header("webhook-id");
        Assert.Equal("delivered", await WaitForStateAsync(relay, id, "crm", "delivered"));
        Assert.Equal("2", (await EventStateAsync(relay, id))["crm.attempts"]);
    }

    /// <summary>
    /// Failure mode: the vendor's Accept-Encoding replayed to the target. A target that honours it answers in gzip,
    /// which Relay (decompression off) cannot read, so the success body is never found: the event is retried and
    /// dead-lettered although the target took it every time.
    /// </summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Dispatch_VendorAskedForGzipAndTargetCompressesWhenAsked_SuccessBodyFoundAndDeliveredOnce(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = async (ctx, _) =>
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            var reply = """{"status":"accepted"}"""u8.ToArray();
            if (ctx.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
            {
                ctx.Response.Headers.ContentEncoding = "gzip";
                using var compressed = new MemoryStream();
                await using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
                {
                    await gzip.WriteAsync(reply);
                }

                reply = compressed.ToArray();
            }

            await ctx.Response.Body.WriteAsync(reply);
        };
        await using var relay = await RelayHost.StartAsync(
            TestStore.Named(storeName),
            YousignToCrm($"{{ url: \"{crm.Url}hook\", successBody: accepted, retry: {{ schedule: [200ms, 200ms], jitter: 0 }} }}"));
        var request = Signing.YousignRequest("/hooks/yousign", YousignSecret, Signing.YousignEvent("gzip-1"));
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, deflate");

        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(request)).StatusCode);

        var delivered = Assert.Single(await crm.WaitForExactlyAsync(1));
        Assert.Equal("", delivered.Header("Accept-Encoding"));
        var id = delivered.Header("webhook-id");
        Assert.Equal("delivered", await WaitForStateAsync(relay, id, "crm", "delivered"));
        Assert.Equal("1", (await EventStateAsync(relay, id))["crm.attempts"]);
    }
}
