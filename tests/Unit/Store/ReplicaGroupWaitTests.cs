using Microsoft.Extensions.Logging.Abstractions;
using Relay.Store;
using Relay.Tests.Infrastructure;
using StackExchange.Redis;

namespace Relay.Tests.Store;

/// <summary>The replica confirmations behind <c>durability: replicas</c>, driven directly against a real primary and replica.</summary>
public sealed class ReplicaGroupWaitTests
{
    private static readonly RedisKey Written = "{t:p0}:events";

    [Fact]
    public async Task WaitAsync_AfterASwitchoverItsOwnConnectionHasNotSeen_ConfirmsOnTheNewPrimary()
    {
        await using var redis = await PrimaryAndReplica.StartAsync();
        var options = ConfigurationOptions.Parse($"{redis.Primary.Address},{redis.Replica.Address}");
        await using var routing = await ConnectionMultiplexer.ConnectAsync(options);
        await using var waits = await ReplicaGroupWait.StartAsync(options, routing, minReplicas: 1, TimeSpan.FromSeconds(1), TimeProvider.System, NullLogger.Instance);
        await routing.GetDatabase().StringSetAsync(Written, "before");
        await waits.WaitAsync([Written]);

        // The roles swap, and only the shared connection reads the new topology: the wait's own connection still takes
        // the new primary for a replica, and would refuse to send it the marker write.
        await redis.SwapRolesAsync();
        await routing.ConfigureAsync();
        Assert.Equal(redis.Primary.Port, ((System.Net.IPEndPoint)routing.GetServer(Written, flags: CommandFlags.DemandMaster).EndPoint).Port);
        await routing.GetDatabase().StringSetAsync(Written, "after");

        var failures = new List<Exception>();
        for (var attempt = 0; attempt < 10; attempt++)
        {
            try
            {
                await waits.WaitAsync([Written]);
                Assert.All(failures, f => Assert.True(StoreFailures.IsStoreFailure(f), $"a refused confirmation must be a store failure (a 503), not {f}"));
                return;
            }
            catch (Exception ex)
            {
                failures.Add(ex);
                await Task.Delay(200);
            }
        }

        Assert.Fail($"No confirmation from the new primary in 10 attempts: {string.Join(" | ", failures.Select(f => $"{f.GetType().Name}: {f.Message}"))}");
    }
}
