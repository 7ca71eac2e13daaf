using Microsoft.Extensions.Logging.Abstractions;
using Relay.Configuration;
using Relay.Store;
using Relay.Tests.Infrastructure;
using StackExchange.Redis;

namespace Relay.Tests.Store;

/// <summary>Failure mode: an embedded store whose append-only file grows without bound and replays it all at start.</summary>
public sealed class EmbeddedCheckpointTests
{
    [Fact]
    public async Task Checkpoint_OfALargeStore_CommandsOnTheSharedConnectionDoNotWaitForIt()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, TestYaml.YousignToCrm(TestYaml.Target(crm)));
        var db = relay.Store.Database;
        var payload = new string('x', 10_000);
        for (var batch = 0; batch < 15_000; batch += 1000)
        {
            // 150 MB, so that writing the snapshot takes long enough to see who waits for it.
            await Task.WhenAll(Enumerable.Range(batch, 1000).Select(i => db.StringSetAsync($"big:{i}", payload)));
        }

        var checkpoint = relay.Store.CheckpointAsync();
        await db.StringSetAsync("during-checkpoint", "written");

        Assert.False(checkpoint.IsCompleted, "a write made during a checkpoint waited for it to finish");
        await checkpoint;
        Assert.Equal("written", (string?)await db.StringGetAsync("during-checkpoint"));
    }

    [Fact]
    public async Task Checkpoint_AfterManyWrites_DropsCoveredAofSegmentsAndRestartStillRecoversEverything()
    {
        var dataDir = Directory.CreateTempSubdirectory("relay-checkpoint-").FullName;
        var payload = new string('x', 4000);
        const int Keys = 12_000; // ~48 MB of AOF: three 16 MB segments

        var garnet = EmbeddedGarnet.Start(dataDir, StoreConfig.MinEmbeddedMemory, NullLoggerFactory.Instance);
        long aofBefore;
        long aofAfter;
        using (var mux = await ConnectAsync(garnet))
        {
            var db = mux.GetDatabase();
            for (var batch = 0; batch < Keys; batch += 1000)
            {
                await Task.WhenAll(Enumerable.Range(batch, 1000).Select(i => db.StringSetAsync($"k{i}", payload + i)));
                await db.ExecuteAsync("COMMITAOF");
            }

            aofBefore = AofBytes(dataDir);
            await using var checkpoints = new EmbeddedCheckpoints(mux.GetServer(garnet.EndPoint), TimeProvider.System, NullLogger.Instance);
            await checkpoints.CheckpointAsync();
            await db.StringSetAsync("after-checkpoint", "kept");
            await db.ExecuteAsync("COMMITAOF");
            // Garnet deletes the covered segments just after SAVE returns, on its own schedule.
            var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
            while ((aofAfter = AofBytes(dataDir)) >= aofBefore / 2 && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        garnet.Dispose();
        Assert.True(aofBefore > 40_000_000, $"the test must write several segments, wrote {aofBefore} bytes");
        Assert.True(aofAfter < aofBefore / 2, $"AOF was {aofBefore} bytes before the checkpoint and {aofAfter} after");

        var restarted = EmbeddedGarnet.Start(dataDir, StoreConfig.MinEmbeddedMemory, NullLoggerFactory.Instance);
        try
        {
            using var mux = await ConnectAsync(restarted);
            var db = mux.GetDatabase();
            Assert.Equal(payload + 0, (string?)await db.StringGetAsync("k0"));
            Assert.Equal(payload + (Keys - 1), (string?)await db.StringGetAsync($"k{Keys - 1}"));
            Assert.Equal("kept", (string?)await db.StringGetAsync("after-checkpoint"));
        }
        finally
        {
            restarted.Dispose();
        }
    }

    private static Task<ConnectionMultiplexer> ConnectAsync(EmbeddedGarnet garnet) =>
        ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { garnet.EndPoint }, AllowAdmin = true, Password = garnet.Password });

    private static long AofBytes(string dataDir) =>
        new DirectoryInfo(Path.Combine(dataDir, "AOF")).EnumerateFiles("aof.log.*").Sum(f => f.Length);
}
