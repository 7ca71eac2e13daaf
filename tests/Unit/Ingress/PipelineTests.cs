using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Relay.Dispatch;
using Relay.Store;
using Relay.Tests.Infrastructure;
using StackExchange.Redis;

namespace Relay.Tests.Ingress;

/// <summary>
/// End to end through the real relay: signed vendor request in, ack out, deliveries at real fake targets.
/// Every test runs on the embedded store and on Redis.
/// </summary>
public sealed class PipelineTests
{
    private const string Secret = "test-yousign-secret";

    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_ThreeTargetsWithFilters_EachGetsOnlyMatchingEvents(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var audit = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), $"""
            sources:
              yousign:
                kind: yousign
                path: /hooks/yousign
                secret: {Secret}
                routes:
                  - target: crm
                    events: ["signature_request.*"]
                  - target: archive
                  - target: audit
                    events: ["signer.done"]
            targets:
              crm: {Target(crm)}
              archive: {Target(archive)}
              audit: {Target(audit)}
            """);

        var done = Signing.YousignEvent("e-1", "signature_request.done");
        var signer = Signing.YousignEvent("e-2", "signer.done");
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, done))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, signer))).StatusCode);

        var archived = await archive.WaitForAsync(2);
        var toCrm = Assert.Single(await crm.WaitForAsync(1));
        var toAudit = Assert.Single(await audit.WaitForAsync(1));
        Assert.Equal(done, toCrm.BodyText);
        Assert.Equal(signer, toAudit.BodyText);
        Assert.Equal(new[] { done, signer }.Order(), archived.Select(r => r.BodyText).Order());

        // Raw mode: the original request replayed, plus the relay's headers.
        Assert.Equal("POST", toCrm.Method);
        Assert.StartsWith("application/json", toCrm.Header("Content-Type"));
        Assert.Equal(Signing.YousignSignature(Secret, done), toCrm.Header("X-Yousign-Signature-256"));
        Assert.StartsWith("evt_", toCrm.Header("webhook-id"));
        Assert.Equal("yousign", toCrm.Header("X-Relay-Source"));
        Assert.Equal("signature_request.done", toCrm.Header("X-Relay-Event-Type"));
        Assert.Equal("1", toCrm.Header("X-Relay-Attempt"));
        Assert.Equal(toCrm.Header("webhook-id"), archived.Single(r => r.BodyText == done).Header("webhook-id"));
        await Task.Delay(300);
        Assert.Single(crm.Received);
        Assert.Single(audit.Received);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_VendorRetryOfSameEvent_SameAckAndDeliveredOnce(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartYousignAsync(storeName, Target(crm));
        var body = Signing.YousignEvent("dup-1");

        var first = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body));
        var retry = Signing.YousignRequest("/hooks/yousign", Secret, body);
        retry.Headers.Remove("X-Yousign-Retry");
        retry.Headers.TryAddWithoutValidation("X-Yousign-Retry", "1");
        var second = await relay.Client.SendAsync(retry);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        await crm.WaitForAsync(1);
        await Task.Delay(1500);
        Assert.Single(crm.Received);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_ForgedOrMissingSignature_401AndNothingStored(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartYousignAsync(storeName, Target(crm));
        var body = Signing.YousignEvent("forged-1");

        var forged = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body, Signing.YousignSignature("wrong-secret", body)));
        var missing = Signing.YousignRequest("/hooks/yousign", Secret, body);
        missing.Headers.Remove("X-Yousign-Signature-256");
        var unsigned = await relay.Client.SendAsync(missing);

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Empty(await StoreKeysAsync(relay));

        // The genuine event is still accepted afterwards: a forgery must not poison its dedupe key.
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body))).StatusCode);
        await crm.WaitForAsync(1);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_BadInput_ClearErrorsAndNothingStored(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartYousignAsync(storeName, Target(crm), extra: "ingress:\n  maxBodyBytes: 2048\n");

        var tooLarge = Signing.YousignEvent("big", requestId: new string('x', 4096));
        var notJson = "this is not json";
        var noEventId = """{"event_name":"signature_request.done"}""";
        var wrongType = new HttpRequestMessage(HttpMethod.Post, "/hooks/yousign") { Content = new StringContent(Signing.YousignEvent("t-1"), System.Text.Encoding.UTF8, "text/plain") };
        wrongType.Headers.TryAddWithoutValidation("X-Yousign-Signature-256", Signing.YousignSignature(Secret, Signing.YousignEvent("t-1")));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, tooLarge))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, notJson))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, noEventId))).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await relay.Client.SendAsync(wrongType)).StatusCode);
        var get = await relay.Client.GetAsync(new Uri("/hooks/yousign", UriKind.Relative));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal("POST", get.Content.Headers.Allow.Single());
        Assert.Empty(await StoreKeysAsync(relay));
    }

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
        await using var relay = await StartYousignAsync(storeName, Target(crm, schedule: "[100ms, 100ms, 100ms]"));

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("retry-1")));

        var attempts = await crm.WaitForAsync(3);
        Assert.Equal(["1", "2", "3"], attempts.Select(a => a.Header("X-Relay-Attempt")));
        Assert.Single(attempts.Select(a => a.Header("webhook-id")).Distinct());
        Assert.Equal("delivered", await WaitForStateAsync(relay, attempts[0].Header("webhook-id"), "crm", "delivered"));
        Assert.Equal("3", (await EventStateAsync(relay, attempts[0].Header("webhook-id")))["crm.attempts"]);
    }

    /// <summary>Failure mode: a circuit breaker that opens during an outage and never lets a probe through again.</summary>
    [Fact]
    public async Task Dispatch_OutageOpensCircuit_TargetRecovers_EverythingDeliveredAfterTheBreak()
    {
        var down = true;
        var delivered = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, _) =>
        {
            var up = !Volatile.Read(ref down);
            ctx.Response.StatusCode = up ? 200 : 503;
            if (up)
            {
                delivered[ctx.Request.Headers["webhook-id"].ToString()] = true;
            }

            return Task.CompletedTask;
        };
        await using var relay = await StartYousignAsync("garnet", Target(crm, schedule: "[200ms, 200ms, 200ms, 200ms, 200ms, 200ms, 200ms, 200ms]"));

        for (var i = 0; i < 12; i++)
        {
            await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent($"outage-{i}")));
        }

        // Ten failures in the sampling window open the circuit; the target then comes back.
        await crm.WaitForAsync(10);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (relay.Services.GetRequiredService<DispatchService>().CircuitOf("crm") != Polly.CircuitBreaker.CircuitState.Open && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(Polly.CircuitBreaker.CircuitState.Open, relay.Services.GetRequiredService<DispatchService>().CircuitOf("crm"));
        Volatile.Write(ref down, false);

        // Break (15 s) + the probe + handed-back events (15 s backoff) must all arrive.
        deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (delivered.Count < 12 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(12, delivered.Count);
        Assert.Equal(Polly.CircuitBreaker.CircuitState.Closed, relay.Services.GetRequiredService<DispatchService>().CircuitOf("crm"));
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
        await using var relay = await StartYousignAsync(storeName, Target(crm, schedule: "[100ms, 100ms]"));

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("dead-1")));

        var attempts = await crm.WaitForAsync(3);
        var id = attempts[0].Header("webhook-id");
        Assert.Equal("dead", await WaitForStateAsync(relay, id, "crm", "dead"));
        var state = await EventStateAsync(relay, id);
        Assert.Equal("3", state["crm.attempts"]);
        Assert.Contains("retries exhausted after 3 attempts: HTTP 500", state["crm.reason"]);
        Assert.True(await IsDeadAsync(relay, id, "crm"));
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
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}, {"{"} target: archive {"}"}] {"}"}
            targets:
              crm: {Target(crm)}
              archive: {Target(archive)}
            """);

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("reject-1")));

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
                ctx.Response.Headers.RetryAfter = "3";
            }

            return Task.CompletedTask;
        };
        await using var relay = await StartYousignAsync(storeName, Target(crm, schedule: "[100ms]"));

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("ra-1")));

        var attempts = await crm.WaitForAsync(2, TimeSpan.FromSeconds(20));
        var gap = attempts[1].At - attempts[0].At;
        Assert.True(gap >= TimeSpan.FromSeconds(2.9), $"second attempt came {gap.TotalSeconds:0.00}s after the first; Retry-After asked for 3s");
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
        await using var relay = await StartYousignAsync(storeName, Target(crm, schedule: "[100ms]", timeout: "500ms"));

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("hang-1")));

        var attempts = await crm.WaitForAsync(2);
        var id = attempts[0].Header("webhook-id");
        Assert.Equal("delivered", await WaitForStateAsync(relay, id, "crm", "delivered"));
        Assert.Equal("2", (await EventStateAsync(relay, id))["crm.attempts"]);
    }

    [Fact]
    public async Task Accept_StoreUnreachable_503WithRetryAfter()
    {
        using var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        var config = await folder.WriteConfigAsync($"""
            store: {"{"} connection: "127.0.0.1:{port}", prefix: {folder.Prefix} {"}"}
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {Target(crm)}
            """);
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder(["--config", config, "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Critical"]);
        Assert.True(Relay.Hosting.RelayHostingExtensions.AddRelay(builder));
        await using var app = builder.Build();
        Relay.Hosting.RelayHostingExtensions.MapRelay(app);
        await app.StartAsync();
        var address = app.Urls.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        var response = await client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("down-1")));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        await app.StopAsync();
    }

    internal static string Target(FakeTarget target, string schedule = "[1s, 2s]", string timeout = "5s") =>
        $"{{ url: \"{target.Url}hook?from=relay\", timeout: {timeout}, concurrency: 4, retry: {{ schedule: {schedule}, jitter: 0 }} }}";

    private static Task<RelayHost> StartYousignAsync(string storeName, string target, string extra = "") =>
        RelayHost.StartAsync(TestStore.Named(storeName), $"""
            {extra}sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {target}
            """);

    /// <summary>Every event-related key this test's relay wrote (its prefix is unique to the test).</summary>
    internal static async Task<IReadOnlyList<string>> StoreKeysAsync(RelayHost relay)
    {
        var keys = new List<string>();
        var prefix = relay.Store.Keys.Prefix;
        var db = relay.Store.Database;
        var cursor = "0";
        do
        {
            var page = (RedisResult[])(await db.ExecuteAsync("SCAN", cursor, "MATCH", $"{{{prefix}:p*", "COUNT", 1000))!;
            cursor = (string)page[0]!;
            keys.AddRange(((RedisResult[])page[1]!).Select(k => (string)k!));
        }
        while (cursor != "0");
        return keys;
    }

    /// <summary>Ids of every event the relay accepted, whatever their routing, newest first per partition.</summary>
    internal static async Task<IReadOnlyList<string>> EventIdsAsync(RelayHost relay)
    {
        var ids = new List<string>();
        for (var p = 0; p < relay.Store.Config.Partitions; p++)
        {
            ids.AddRange((await relay.Store.Database.SortedSetRangeByRankAsync(relay.Store.Keys.Index(p), order: Order.Descending)).Select(v => (string)v!));
        }

        return ids;
    }

    internal static async Task<Dictionary<string, string>> EventStateAsync(RelayHost relay, string id)
    {
        Assert.True(EventIds.TryGetPartition(id, relay.Store.Config.Partitions, out var partition), $"'{id}' is not an event id");
        var entries = await relay.Store.Database.HashGetAllAsync(relay.Store.Keys.Event(partition, id));
        return entries.Where(e => e.Name != "body").ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
    }

    internal static async Task<string> WaitForStateAsync(RelayHost relay, string id, string target, string expected)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        string? state = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            state = (await EventStateAsync(relay, id)).GetValueOrDefault($"{target}.state");
            if (state == expected)
            {
                return state;
            }

            await Task.Delay(50);
        }

        return state ?? "(none)";
    }

    private static async Task<bool> IsDeadAsync(RelayHost relay, string id, string target)
    {
        EventIds.TryGetPartition(id, relay.Store.Config.Partitions, out var partition);
        return (await relay.Store.Database.SortedSetScoreAsync(relay.Store.Keys.Dead(partition, target), id)).HasValue;
    }
}
