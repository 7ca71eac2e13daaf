using Microsoft.Extensions.DependencyInjection;
using Relay.Store;
using Relay.Tests.Admin;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;

namespace Relay.Tests.Store;

/// <summary>
/// Failure mode: retention destroying events that are still queued. An event any target still owes (ready, retrying,
/// paused, or dead-lettered and not purged) never expires; retention counts from the last time it was owed; dead
/// letters expire on their own after <c>store.deadLetterRetention</c>.
/// </summary>
public sealed class RetentionTests
{
    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Event_OwedWhilePausedOrRetrying_NoExpiryUntilEveryTargetIsDone(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        var archiveUp = false;
        archive.Respond = (ctx, _) =>
        {
            ctx.Response.StatusCode = Volatile.Read(ref archiveUp) ? 200 : 503;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm, archive, schedule: "[500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms]"));
        using var admin = AdminApi.Client(relay);
        await AdminApi.PostAsync(admin, "/admin/targets/crm/pause");

        await AdminApi.SendAsync(relay, "owed-1");
        var id = await AdminApi.OnlyEventIdAsync(admin);
        await archive.WaitForAsync(1);

        // crm paused (pending), archive retrying: owed by both, so no expiry at all.
        Assert.Equal(-1, await TimeToLiveAsync(relay, id));
        await AdminApi.PostAsync(admin, "/admin/targets/crm/resume");
        Assert.Equal("delivered", await WaitForStateAsync(relay, id, "crm", "delivered"));
        Assert.Equal(-1, await TimeToLiveAsync(relay, id));

        // The last owing target is delivered: retention starts now.
        Volatile.Write(ref archiveUp, true);
        Assert.Equal("delivered", await WaitForStateAsync(relay, id, "archive", "delivered"));
        var ttl = await TimeToLiveAsync(relay, id);
        Assert.InRange(ttl, TimeSpan.FromDays(7).TotalMilliseconds - 60_000, TimeSpan.FromDays(7).TotalMilliseconds);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task DeadLetter_OwedUntilPurged_ThenExpiresAfterRetention(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = static (ctx, _) =>
        {
            ctx.Response.StatusCode = 410;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "dead-owed");
        var id = await AdminApi.OnlyEventIdAsync(admin);
        Assert.Equal("dead", await WaitForStateAsync(relay, id, "crm", "dead"));
        Assert.Equal(-1, await TimeToLiveAsync(relay, id));

        await admin.DeleteAsync(new Uri("/admin/targets/crm/dead-letters", UriKind.Relative));

        Assert.Equal("purged", (await EventStateAsync(relay, id))["crm.state"]);
        Assert.True(await TimeToLiveAsync(relay, id) > 0);
        Assert.Equal("purged", AdminApi.State(await AdminApi.GetAsync(admin, $"/admin/events/{id}"), "crm"));
    }

    [Fact]
    public async Task DeadLetter_OlderThanDeadLetterRetention_PurgedByTheScheduler()
    {
        var time = new VirtualTime();
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = static (ctx, _) =>
        {
            ctx.Response.StatusCode = 410;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm), configure: time.Use, storeSettings: "  deadLetterRetention: 1h\n");
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "dead-expiring");
        var id = await AdminApi.OnlyEventIdAsync(admin);
        Assert.Equal("dead", await WaitForStateAsync(relay, id, "crm", "dead"));

        time.Clock.Advance(TimeSpan.FromMinutes(59));
        await Task.Delay(1500);
        Assert.Equal("dead", (await EventStateAsync(relay, id))["crm.state"]);

        Assert.True(await time.AdvanceUntilAsync(
            () => EventStateAsync(relay, id).GetAwaiter().GetResult()["crm.state"] == "purged", TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20)));
        Assert.True(await TimeToLiveAsync(relay, id) > 0);
    }
}
