using Microsoft.Extensions.Logging.Abstractions;
using Relay.Configuration;
using Relay.Store;
using StackExchange.Redis;

namespace Relay.Tests.Store;

/// <summary>Failure mode: a backlog larger than the embedded store's memory, which a cache would silently evict.</summary>
public sealed class EmbeddedCapacityTests
{
    [Fact]
    public async Task Backlog_LargerThanStoreMemory_EveryRecordKept()
    {
        var dataDir = Directory.CreateTempSubdirectory("relay-capacity-").FullName;
        var payload = new string('x', 2000);
        const int Events = 120_000; // ~240 MB of hashes against --memory 128m

        var garnet = EmbeddedGarnet.Start(dataDir, StoreConfig.MinEmbeddedMemory, NullLoggerFactory.Instance);
        try
        {
            // What is measured is whether every record is kept, not how fast 2,000 reads from the disk tier come back on a
            // busy machine, so the client waits longer than its 5 s default.
            using var mux = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { garnet.EndPoint }, Password = garnet.Password, AsyncTimeout = 60_000, SyncTimeout = 60_000 });
            var db = mux.GetDatabase();
            for (var batch = 0; batch < Events; batch += 2000)
            {
                await Task.WhenAll(Enumerable.Range(batch, 2000).Select(i => db.HashSetAsync($"evt:{i}", [new("body", payload), new("n", i)])));
            }

            var missing = 0;
            for (var batch = 0; batch < Events; batch += 2000)
            {
                var reads = await Task.WhenAll(Enumerable.Range(batch, 2000).Select(i => db.HashGetAsync($"evt:{i}", "n")));
                missing += reads.Count(r => r.IsNull);
            }

            Assert.Equal(0, missing);
        }
        finally
        {
            garnet.Dispose();
        }
    }
}
