using System.Diagnostics;
using System.Globalization;
using System.Net;
using Relay.Tests.Infrastructure;
using StackExchange.Redis;

namespace Relay.Tests.Store;

/// <summary>
/// <c>store.durability: replicas</c> against a real Redis primary and replica on loopback: an ack waits until the
/// replica has the event, and is refused (503) when the replica cannot confirm in time.
/// </summary>
public sealed class ReplicaDurabilityTests
{
    private const string Secret = "replica-secret";

    [Fact]
    public async Task Ack_ReplicaFrozen_ReturnsOnlyOnceTheReplicaHasTheEvent()
    {
        await using var redis = await PrimaryAndReplica.StartAsync();
        var folder = new TestFolder();
        using var relay = await RelayProcess.StartAsync(await WriteConfigAsync(folder, redis, replicaTimeout: "5s"));
        using var client = new HttpClient { BaseAddress = relay.Url };

        redis.Replica.Pause();
        var sending = client.SendAsync(Request("while-frozen"));
        try
        {
            await Task.Delay(700);
            Assert.False(sending.IsCompleted, "The relay answered while the only replica was frozen: the ack did not wait for it.");
        }
        finally
        {
            redis.Replica.Resume();
        }

        Assert.Equal(HttpStatusCode.OK, (await sending).StatusCode);

        // Read at once, without waiting for replication to catch up: the ack promised the replica already has it.
        Assert.Equal(["while-frozen"], await redis.VendorIdsOnReplicaAsync(folder.Prefix));
    }

    [Fact]
    public async Task ConcurrentAcks_ReplicasDurability_ShareConfirmations()
    {
        await using var redis = await PrimaryAndReplica.StartAsync();
        var folder = new TestFolder();
        using var relay = await RelayProcess.StartAsync(await WriteConfigAsync(folder, redis, replicaTimeout: "5s"));
        using var client = new HttpClient { BaseAddress = relay.Url };
        var waitsBefore = await redis.PrimaryCallsAsync("wait");

        const int events = 100;
        var acks = await Task.WhenAll(Enumerable.Range(0, events).Select(i => client.SendAsync(Request($"batch-{i}"))));

        Assert.All(acks, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(events, (await redis.VendorIdsOnReplicaAsync(folder.Prefix)).Count);
        var waits = await redis.PrimaryCallsAsync("wait") - waitsBefore;
        Assert.True(waits is > 0 and < events, $"{waits} WAITs for {events} concurrent acks: confirmations are not shared.");
    }

    [Fact]
    public async Task Ack_ReplicaDown_RefusedWithinTheTimeout_ThenRetriesAckedOnceItIsBack()
    {
        await using var redis = await PrimaryAndReplica.StartAsync();
        var folder = new TestFolder();
        using var relay = await RelayProcess.StartAsync(await WriteConfigAsync(folder, redis, replicaTimeout: "1s"));
        using var client = new HttpClient { BaseAddress = relay.Url };

        redis.Replica.Kill();
        var refused = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
        {
            var started = Stopwatch.GetTimestamp();
            var response = await client.SendAsync(Request($"down-{i}"));
            return (response, Stopwatch.GetElapsedTime(started));
        }));

        Assert.All(refused, r =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.response.StatusCode);
            Assert.Equal("5", r.response.Headers.GetValues("Retry-After").Single());
            Assert.True(r.Item2 < TimeSpan.FromSeconds(2.5), $"refused after {r.Item2.TotalMilliseconds:0} ms; the replica timeout is 1 s");
        });

        // The vendor retries once the replica is back: the events were stored on the primary, so the retries are
        // duplicates, and their acks still wait until the replica has the first copies.
        await redis.RestartReplicaAsync();
        var retried = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => client.SendAsync(Request($"down-{i}"))));
        Assert.All(retried, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(10, (await redis.VendorIdsOnReplicaAsync(folder.Prefix)).Count);
    }

    [Fact]
    public async Task Duplicate_OnAnotherRelayWhileTheReplicaIsBehind_IsNotAcked()
    {
        await using var redis = await PrimaryAndReplica.StartAsync();
        var folder = new TestFolder();
        var config = await WriteConfigAsync(folder, redis, replicaTimeout: "1s");
        using var first = await RelayProcess.StartAsync(config);
        using var second = await RelayProcess.StartAsync(config);
        using var toFirst = new HttpClient { BaseAddress = first.Url };
        using var toSecond = new HttpClient { BaseAddress = second.Url };

        redis.Replica.Pause();
        try
        {
            // Stored on the primary, never confirmed by the replica: refused.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await toFirst.SendAsync(Request("retried"))).StatusCode);

            // The vendor's retry reaches the other relay, whose own connections wrote nothing since the replica froze.
            // The accept finds a duplicate and writes nothing; its ack must still wait for the first copy. (Redis 7.2+
            // counts a WAIT from the client's last write, which the marker write provides; Redis 7.0 from its last
            // command of any kind.)
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await toSecond.SendAsync(Request("retried"))).StatusCode);
        }
        finally
        {
            redis.Replica.Resume();
        }

        Assert.Equal(HttpStatusCode.OK, (await toSecond.SendAsync(Request("retried"))).StatusCode);
        Assert.Equal(["retried"], await redis.VendorIdsOnReplicaAsync(folder.Prefix));
    }

    private static HttpRequestMessage Request(string eventId) =>
        Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent(eventId, requestId: "sr-" + eventId));

    private static Task<string> WriteConfigAsync(TestFolder folder, PrimaryAndReplica redis, string replicaTimeout) => folder.WriteConfigAsync($$"""
        store:
          connection: "{{redis.Primary.Address}}"
          partitions: 4
          prefix: {{folder.Prefix}}
          durability: replicas
          minReplicas: 1
          replicaTimeout: {{replicaTimeout}}
        sources:
          yousign: { kind: yousign, path: /hooks/yousign, secret: {{Secret}} }
        """);
}
