using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Relay.Dispatch;
using Relay.Store;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;
using static Relay.Tests.Infrastructure.TestYaml;
using StackExchange.Redis;

namespace Relay.Tests.Ingress;

/// <summary>
/// End to end through the real relay: signed vendor request in, ack out, deliveries at real fake targets.
/// Every test runs on the embedded store and on Redis.
/// </summary>
public sealed class PipelineTests
{
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
                secret: {YousignSecret}
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
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, done))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, signer))).StatusCode);

        var archived = await archive.WaitForAsync(2);
        var toCrm = Assert.Single(await crm.WaitForAsync(1));
        var toAudit = Assert.Single(await audit.WaitForAsync(1));
        Assert.Equal(done, toCrm.BodyText);
        Assert.Equal(signer, toAudit.BodyText);
        Assert.Equal(new[] { done, signer }.Order(), archived.Select(r => r.BodyText).Order());

        // Raw mode: the original request replayed, plus the relay's headers.
        Assert.Equal("POST", toCrm.Method);
        Assert.StartsWith("application/json", toCrm.Header("Content-Type"));
        Assert.Equal(Signing.YousignSignature(YousignSecret, done), toCrm.Header("X-Yousign-Signature-256"));
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
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), YousignToCrm(Target(crm)));
        var body = Signing.YousignEvent("dup-1");

        var first = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, body));
        var retry = Signing.YousignRequest("/hooks/yousign", YousignSecret, body);
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
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), YousignToCrm(Target(crm)));
        var body = Signing.YousignEvent("forged-1");

        var forged = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, body, Signing.YousignSignature("wrong-secret", body)));
        var missing = Signing.YousignRequest("/hooks/yousign", YousignSecret, body);
        missing.Headers.Remove("X-Yousign-Signature-256");
        var unsigned = await relay.Client.SendAsync(missing);

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Empty(await StoreKeysAsync(relay));

        // The genuine event is still accepted afterwards: a forgery must not poison its dedupe key.
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, body))).StatusCode);
        await crm.WaitForAsync(1);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_BadInput_ClearErrorsAndNothingStored(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), "ingress:\n  maxBodyBytes: 2048\n" + YousignToCrm(Target(crm)));

        var tooLarge = Signing.YousignEvent("big", requestId: new string('x', 4096));
        var notJson = "this is not json";
        var noEventId = """{"event_name":"signature_request.done"}""";
        var wrongType = new HttpRequestMessage(HttpMethod.Post, "/hooks/yousign") { Content = new StringContent(Signing.YousignEvent("t-1"), System.Text.Encoding.UTF8, "text/plain") };
        wrongType.Headers.TryAddWithoutValidation("X-Yousign-Signature-256", Signing.YousignSignature(YousignSecret, Signing.YousignEvent("t-1")));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, tooLarge))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, notJson))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, noEventId))).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await relay.Client.SendAsync(wrongType)).StatusCode);

        // Invalid UTF-8 inside a JSON string, genuinely signed: a 400 saying so (it was a 500).
        var notUtf8 = Signing.JsonWithInvalidUtf8("event_id", ",\"event_name\":\"signature_request.done\"");
        var notUtf8Response = await relay.Client.SendAsync(Signing.JsonPost("/hooks/yousign", notUtf8, "X-Yousign-Signature-256", "sha256=" + Signing.HexHmacSha256(YousignSecret, notUtf8)));
        Assert.Equal(HttpStatusCode.BadRequest, notUtf8Response.StatusCode);
        Assert.Equal("body is not valid UTF-8\n", await notUtf8Response.Content.ReadAsStringAsync());
        var get = await relay.Client.GetAsync(new Uri("/hooks/yousign", UriKind.Relative));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal("POST", get.Content.Headers.Allow.Single());
        Assert.Empty(await StoreKeysAsync(relay));
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
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {YousignSecret}, routes: [{"{"} target: crm {"}"}] {"}"}
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

        var response = await client.SendAsync(Signing.YousignRequest("/hooks/yousign", YousignSecret, Signing.YousignEvent("down-1")));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());

        // Degraded, not unready: the 503 above is the answer vendors need; taking the pod out would stop pass-through too.
        var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"store\":{\"status\":\"Degraded\"", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await app.StopAsync();
    }


}
