using System.Net;
using Relay.Tests.Infrastructure;
using Relay.Tests.Ingress;

namespace Relay.Tests.Store;

/// <summary>The store going away under a running relay: no 2xx for what is not durable, nothing acked is lost.</summary>
public sealed class StoreOutageTests
{
    private const string Secret = "outage-secret";

    [Fact]
    public async Task StoreKilledAndRestarted_503WhileDown_ThenEverythingAckedIsDelivered()
    {
        using var redis = await RedisServerProcess.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        var config = await folder.WriteConfigAsync($"""
            store: {"{"} connection: "{redis.Address}", partitions: 4, prefix: {folder.Prefix} {"}"}
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {TestYaml.Target(crm, schedule: "[500ms, 1s, 1s, 1s, 1s]")}
            """);
        using var relay = await RelayProcess.StartAsync(config);
        using var client = new HttpClient { BaseAddress = relay.Url };

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("before")))).StatusCode);
        await crm.WaitForAsync(1);

        redis.Kill();
        var whileDown = await client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("during")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, whileDown.StatusCode);
        Assert.Equal("5", whileDown.Headers.GetValues("Retry-After").Single());
        var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"store\":{\"status\":\"Degraded\"", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await redis.RestartAsync();
        var after = HttpStatusCode.ServiceUnavailable;
        for (var i = 0; i < 100 && after != HttpStatusCode.OK; i++)
        {
            // The vendor's retry after Retry-After: accepted once the relay has reconnected.
            after = (await client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("during")))).StatusCode;
            await Task.Delay(100);
        }

        Assert.Equal(HttpStatusCode.OK, after);
        var received = await crm.WaitForAsync(2, TimeSpan.FromSeconds(30));
        Assert.Equal(["before", "during"], received.Select(r => System.Text.Json.JsonDocument.Parse(r.Body).RootElement.GetProperty("event_id").GetString()).Distinct().Order());
    }
}
