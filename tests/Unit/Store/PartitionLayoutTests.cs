using System.Net;
using Relay.Hosting;
using Relay.Store;
using Relay.Tests.Admin;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;

namespace Relay.Tests.Store;

/// <summary>
/// Failure mode: <c>store.partitions</c> changed on a store that holds events. Without care, queued events would sit in
/// partitions nobody reads and vendor retries would pass dedupe. A relay with another count than the store's refuses
/// to start; <c>migrate-partitions</c> changes the count keeping both; a replica left running through a migration stops
/// accepting (503; readiness degraded, with the reason) instead of breaking dedupe.
/// </summary>
public sealed class PartitionLayoutTests
{
    private const int Events = 24;

    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Partitions_ChangedThenMigrated_QueuedEventsDeliveredAndRetriesStillDeduped(string storeName)
    {
        var store = TestStore.Named(storeName);
        await using var crm = await FakeTarget.StartAsync();
        var crmUp = false;
        var accepted = new System.Collections.Concurrent.ConcurrentQueue<string>();
        crm.Respond = (ctx, _) =>
        {
            var up = Volatile.Read(ref crmUp);
            if (up)
            {
                accepted.Enqueue(ctx.Request.Headers["webhook-id"].ToString());
            }

            ctx.Response.StatusCode = up ? 200 : 503;
            return Task.CompletedTask;
        };
        var yaml = AdminApi.Yaml(crm, schedule: "[500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms]");
        var folder = new TestFolder();
        await using (var before = await RelayHost.StartAsync(store, yaml, folder))
        {
            await SendAllAsync(before, "old", Events);
            Assert.Equal(Events, (await EventIdsAsync(before)).Count);
        }

        folder.Partitions = 7;
        var refused = await Assert.ThrowsAsync<StoreLayoutException>(() => RelayHost.StartAsync(store, yaml, folder));
        Assert.Contains("store.partitions is 7, but this store was set up with 4 partitions", refused.Message, StringComparison.Ordinal);
        Assert.Contains("migrate-partitions", refused.Message, StringComparison.Ordinal);

        Assert.Equal(0, await RelayCommands.TryRunAsync([RelayCommands.MigratePartitions, "--config", Path.Combine(folder.Path, "relay.yaml")]));
        Volatile.Write(ref crmUp, true);
        await using var after = await RelayHost.StartAsync(store, yaml, folder);
        Assert.Equal(new StoreLayout(7, 7), after.Store.Layout);

        // Every event queued under 4 partitions is delivered, and every vendor retry of one is recognised.
        await SendAllAsync(after, "old", Events);
        await SendAllAsync(after, "new", Events);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (accepted.Count < 2 * Events && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await Task.Delay(700);
        Assert.Equal(2 * Events, accepted.Count);
        Assert.Equal(2 * Events, accepted.Distinct().Count());
        Assert.Equal(2 * Events, (await EventIdsAsync(after)).Count);
        using var admin = AdminApi.Client(after);
        var listed = await AdminApi.GetAsync(admin, "/admin/events?limit=100");
        Assert.Equal(2 * Events, listed.GetProperty("events").GetArrayLength());
    }

    [Fact]
    public async Task Migration_WhileAReplicaRuns_ThatReplicaStopsAcceptingAndReportsWhy()
    {
        var store = TestStore.Named("redis");
        await using var crm = await FakeTarget.StartAsync();
        var yaml = AdminApi.Yaml(crm);
        var folder = new TestFolder();
        await using var stale = await RelayHost.StartAsync(store, yaml, folder);
        await AdminApi.SendAsync(stale, "before-migration");

        var migrated = Path.Combine(folder.Path, "migrate.yaml");
        await File.WriteAllTextAsync(migrated, store.StoreYaml(Path.Combine(folder.Path, "data"), folder.Prefix, partitions: 2) + yaml);
        Assert.Equal(0, await RelayCommands.TryRunAsync([RelayCommands.MigratePartitions, "--config", migrated]));

        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        string report;
        do
        {
            await Task.Delay(250);
            var ready = await stale.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            report = await ready.Content.ReadAsStringAsync();
        }
        while (!report.Contains("restart it with store.partitions: 2", StringComparison.Ordinal) && DateTimeOffset.UtcNow < deadline);

        Assert.Contains("restart it with store.partitions: 2", report, StringComparison.Ordinal);
        Assert.Contains("\"Degraded\"", report, StringComparison.Ordinal);
        var refused = await stale.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", AdminApi.Secret, Signing.YousignEvent("after-migration", requestId: "sr-9")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
    }

    private static async Task SendAllAsync(RelayHost relay, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await AdminApi.SendAsync(relay, $"{prefix}-{i}", requestId: $"sr-{prefix}-{i}");
        }
    }
}
