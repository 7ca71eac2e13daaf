using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Relay.Dispatch;
using Relay.Store;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;

namespace Relay.Tests.Dispatch;

/// <summary>
/// Delivery leases: kept on the store's clock, so replicas whose clocks disagree cannot take a live lease from each
/// other; and extended while a delivery runs, so a slow deferred check plus a slow target never lets a second worker
/// deliver the same event at the same time.
/// </summary>
public sealed class LeaseTests
{
    public static TheoryData<string> Stores => TestStore.All;

    /// <summary>Failure mode: a sweeping replica whose clock runs an hour ahead reclaims another replica's live lease.</summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Promote_SweeperClockAnHourAhead_LiveLeaseKeptButDueRetriesMove(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), TestYaml.YousignToCrm(TestYaml.Target(crm)));
        var signals = relay.Services.GetRequiredService<QueueSignals>();
        var store = relay.Services.GetRequiredService<EventStore>();
        await relay.Services.GetRequiredService<EventOperations>().SetPausedAsync("crm", paused: true);
        relay.Services.GetRequiredService<DispatchService>().PauseChanged("crm");
        var id = await AcceptAsync(store, "lease-1");
        var partition = EventIds.TryGetPartition(id, store.Partitions, out var p) ? p : -1;

        var claimed = Assert.Single(await store.ClaimAsync("crm", partition, 10, TimeSpan.FromMinutes(1)));
        var ahead = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1));
        var skewed = new EventStore(relay.Store, signals, ahead);

        var (promoted, reclaimed) = await skewed.PromoteAsync("crm", partition, 100);

        Assert.Equal((0, 0), (promoted, reclaimed));
        Assert.True(await store.RetryAsync("crm", claimed, DateTimeOffset.UtcNow.AddMinutes(5), "HTTP 503", null, countAttempt: false));
        Assert.Equal((1, 0), await skewed.PromoteAsync("crm", partition, 100));
    }

    /// <summary>
    /// Failure mode: the verification call-out and the send together outlast one lease; without extending it, the
    /// sweeper hands the event to a second claim and the target receives it twice.
    /// </summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Deliver_CheckAndSendOutlastOneLease_LeaseExtendedAndDeliveredOnce(string storeName)
    {
        await using var verifier = await FakeTarget.StartAsync();
        verifier.Respond = static async (ctx, _) =>
        {
            await Task.Delay(4000);
            ctx.Response.StatusCode = 200;
        };
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = static async (ctx, _) =>
        {
            await Task.Delay(800);
            ctx.Response.StatusCode = 200;
        };
        const string Token = "tok-0123456789abcdef";
        await using var relay = await RelayHost.StartAsync(
            TestStore.Named(storeName),
            $$"""
            sources:
              alphatrust:
                kind: alphatrust
                path: "/hooks/alphatrust/{token}"
                token: {{Token}}
                verify: { url: "{{verifier.Url}}check", timeout: 5s }
                routes: [{ target: crm }]
            targets:
              crm: { url: "{{crm.Url}}hook", timeout: 2s, retry: { schedule: [1s], jitter: 0 } }
            """,
            configure: builder => builder.Services.AddSingleton(new LeaseSettings(TimeSpan.FromSeconds(1))));

        await relay.Client.SendAsync(Signing.FormPost("/hooks/alphatrust/" + Token, Signing.Fixture("alphatrust/skipped-document.form")));

        // The lease lasts 3 s (timeout 2 s + margin 1 s); the check takes 4 s and the send 0.8 s.
        var id = (await crm.WaitForAsync(1, TimeSpan.FromSeconds(15)))[0].Header("webhook-id");
        Assert.Equal("delivered", await WaitForStateAsync(relay, id, "crm", "delivered"));
        await crm.WaitForExactlyAsync(1, TimeSpan.FromSeconds(4));
        Assert.Single(verifier.Received);
    }

    private static async Task<string> AcceptAsync(EventStore store, string dedupeKey)
    {
        var now = DateTimeOffset.UtcNow;
        var partition = EventIds.PartitionOf(dedupeKey, store.Partitions);
        var stored = new StoredEvent(EventIds.New(partition, now), partition, "yousign", "t", [], dedupeKey, "POST", "", "application/json", [], "{}"u8.ToArray(), now);
        var result = Assert.Single(await store.AcceptAsync([new NewEvent(stored, TimeSpan.FromMinutes(5), ["crm"])]));
        return result.EventId;
    }
}
