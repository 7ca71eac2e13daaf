using Microsoft.Extensions.DependencyInjection;
using Relay.Dispatch;
using Relay.Store;
using Relay.Tests.Infrastructure;
using StackExchange.Redis;
using static Relay.Tests.Infrastructure.StoreProbe;

namespace Relay.Tests.Store;

/// <summary>
/// Successful deliveries are settled in batches (one script call per target and partition for all completions that
/// arrive together). Batching must not change what a completion means: each event is checked against its own lease and
/// settled on its own, and a failed write fails exactly the completions it carried.
/// </summary>
public sealed class CompletionBatchTests
{
    public static TheoryData<string> Stores => TestStore.All;

    /// <summary>
    /// Failure mode: one event of a batch lost its lease to another worker; a batch that settled it anyway (or failed the
    /// others with it) would record a delivery the newer claim still owes, or deliver 39 events twice.
    /// </summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Complete_FortyAtOnceOneLeaseLost_OthersDeliveredLostOneUntouched(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartPausedAsync(storeName, crm);
        var store = relay.Services.GetRequiredService<EventStore>();
        const int Partition = 3;
        var ids = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            ids.Add(await AcceptAsync(store, Partition, $"batch-{i}"));
        }

        var claimed = await store.ClaimAsync("crm", Partition, 40, TimeSpan.FromMinutes(1));
        Assert.Equal(40, claimed.Count);
        var lost = claimed[17];

        // Another worker re-claimed this one after its lease ran out: the lease now carries that claim's deadline.
        await relay.Store.Database.SortedSetAddAsync(relay.Store.Keys.Lease(Partition, "crm"), lost.Id, lost.Lease.Deadline + 5000);

        var record = new AttemptRecord("crm", 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 200, 3, null);
        var outcomes = await Task.WhenAll(claimed.Select(c => store.CompleteAsync("crm", c, record)));

        Assert.Equal(39, outcomes.Count(o => o));
        Assert.False(outcomes[17]);
        var delivered = await relay.Store.Database.SortedSetRangeByRankAsync(relay.Store.Keys.StateIndex(Partition, "crm", StoreWords.Delivered));
        var pending = await relay.Store.Database.SortedSetRangeByRankAsync(relay.Store.Keys.StateIndex(Partition, "crm", StoreWords.Pending));
        Assert.Equal(ids.Where(id => id != lost.Id).Order(), delivered.Select(v => (string)v!).Order());
        Assert.Equal([lost.Id], pending.Select(v => (string)v!));
        Assert.Equal([lost.Id], (await relay.Store.Database.SortedSetRangeByRankAsync(relay.Store.Keys.Lease(Partition, "crm"))).Select(v => (string)v!));
        foreach (var id in ids)
        {
            var state = await EventStateAsync(relay, id);
            var history = await relay.Store.Database.ListLengthAsync(relay.Store.Keys.History(Partition, id));
            if (id == lost.Id)
            {
                Assert.Equal(("pending", 0L), (state["crm.state"], history));
                Assert.Equal(-1, await TimeToLiveAsync(relay, id));
            }
            else
            {
                Assert.Equal(("delivered", "1", 1L), (state["crm.state"], state["crm.attempts"], history));
                Assert.True(await TimeToLiveAsync(relay, id) > 0, "a delivered event expires after retention");
            }
        }
    }

    /// <summary>
    /// A completion moves the event out of the one state index its state field names (here retrying, after a failed
    /// first attempt) into delivered; an event left in two indexes would be listed twice to operators.
    /// </summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Complete_AfterARetry_LeavesRetryingForDeliveredOnly(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartPausedAsync(storeName, crm);
        var store = relay.Services.GetRequiredService<EventStore>();
        const int Partition = 2;
        var id = await AcceptAsync(store, Partition, "retried-once");
        var first = Assert.Single(await store.ClaimAsync("crm", Partition, 1, TimeSpan.FromMinutes(1)));
        var failed = new AttemptRecord("crm", 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 503, 3, null);
        Assert.True(await store.RetryAsync("crm", first, DateTimeOffset.UtcNow.AddSeconds(-1), "HTTP 503", failed));
        Assert.Equal((1, 0), await store.PromoteAsync("crm", Partition, 10));
        var second = Assert.Single(await store.ClaimAsync("crm", Partition, 1, TimeSpan.FromMinutes(1)));

        Assert.True(await store.CompleteAsync("crm", second, failed with { Attempt = 2, Status = 200 }));

        var indexes = new Dictionary<string, string[]>();
        foreach (var state in StoreWords.States)
        {
            indexes[state] = [.. (await relay.Store.Database.SortedSetRangeByRankAsync(relay.Store.Keys.StateIndex(Partition, "crm", state))).Select(v => (string)v!)];
        }

        Assert.Equal([id], indexes[StoreWords.Delivered]);
        Assert.All(indexes.Where(i => i.Key != StoreWords.Delivered), i => Assert.Empty(i.Value));
        var fields = await EventStateAsync(relay, id);
        Assert.Equal(("delivered", "2"), (fields["crm.state"], fields["crm.attempts"]));
        Assert.False(fields.ContainsKey("crm.next") || fields.ContainsKey("crm.reason"), "a delivered event keeps no retry time or failure reason");
    }

    /// <summary>Completions that arrive while a batch is being written go together in the next call, each with its own outcome, in order.</summary>
    [Fact]
    public async Task Complete_ArrivingWhileAWriteRuns_GoTogetherInTheNextCall()
    {
        var firstStarted = new TaskCompletionSource();
        var releaseFirst = new TaskCompletionSource();
        var calls = new List<string[]>();
        var batches = new CompletionBatches(async (_, _, batch) =>
        {
            lock (calls)
            {
                calls.Add([.. batch.Select(c => c.Claimed.Id)]);
            }

            if (calls.Count == 1)
            {
                firstStarted.SetResult();
                await releaseFirst.Task;
            }

            return [.. batch.Select(c => c.Claimed.Id.EndsWith('7') ? SettleOutcome.LeaseLost : SettleOutcome.Settled)];
        });

        var first = batches.CompleteAsync("crm", 0, Completion("e0"));
        await firstStarted.Task;
        var later = Enumerable.Range(1, 10).Select(i => batches.CompleteAsync("crm", 0, Completion($"e{i}"))).ToList();
        var otherPartition = batches.CompleteAsync("crm", 1, Completion("p1"));
        Assert.Equal(SettleOutcome.Settled, await otherPartition);
        releaseFirst.SetResult();

        Assert.Equal(SettleOutcome.Settled, await first);
        var outcomes = await Task.WhenAll(later);
        Assert.Equal([.. Enumerable.Range(1, 10).Select(i => i == 7 ? SettleOutcome.LeaseLost : SettleOutcome.Settled)], outcomes);
        Assert.Equal(3, calls.Count);
        Assert.Equal(["e0"], calls[0]);
        Assert.Equal(["p1"], calls[1]);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"e{i}"), calls[2]);
    }

    /// <summary>Failure mode: the store fails one write; exactly the completions it carried fail, and the next ones are written.</summary>
    [Fact]
    public async Task Complete_WriteFails_ThoseCompletionsFailAndTheNextAreWritten()
    {
        var failNext = true;
        var batches = new CompletionBatches((_, _, batch) =>
        {
            if (failNext)
            {
                failNext = false;
                throw new RedisConnectionException(ConnectionFailureType.SocketClosed, CommandFlags.None, "store gone", null, CommandStatus.Unknown);
            }

            return Task.FromResult<IReadOnlyList<SettleOutcome>>([.. batch.Select(_ => SettleOutcome.Settled)]);
        });

        await Assert.ThrowsAsync<RedisConnectionException>(() => batches.CompleteAsync("crm", 0, Completion("a")));
        Assert.Equal(SettleOutcome.Settled, await batches.CompleteAsync("crm", 0, Completion("b")));
    }

    /// <summary>One script call never carries more than the batch limit, however many completions wait.</summary>
    [Fact]
    public async Task Complete_MoreWaitingThanOneBatch_SplitAtTheLimit()
    {
        var firstStarted = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var sizes = new List<int>();
        var batches = new CompletionBatches(async (_, _, batch) =>
        {
            sizes.Add(batch.Count);
            firstStarted.TrySetResult();
            await release.Task;
            return [.. batch.Select(_ => SettleOutcome.Settled)];
        });

        var all = new List<Task<SettleOutcome>> { batches.CompleteAsync("crm", 0, Completion("first")) };
        await firstStarted.Task;
        all.AddRange(Enumerable.Range(0, CompletionBatches.MaxBatch + 10).Select(i => batches.CompleteAsync("crm", 0, Completion($"e{i}"))));
        release.SetResult();

        Assert.All(await Task.WhenAll(all), o => Assert.Equal(SettleOutcome.Settled, o));
        Assert.Equal([1, CompletionBatches.MaxBatch, 10], sizes);
    }

    /// <summary>
    /// A queue is kept only while it has a write in progress: after completions for many targets and partitions (as
    /// when targets are removed, or a migration leaves partitions) nothing is held, and a completion arriving just as
    /// a queue drains is still written.
    /// </summary>
    [Fact]
    public async Task Complete_QueuesDrained_NothingHeldAndLaterCompletionsStillWritten()
    {
        var written = 0;
        var batches = new CompletionBatches(async (_, _, batch) =>
        {
            await Task.Yield();
            Interlocked.Add(ref written, batch.Count);
            return [.. batch.Select(_ => SettleOutcome.Settled)];
        });

        var all = new List<Task<SettleOutcome>>();
        for (var round = 0; round < 50; round++)
        {
            for (var target = 0; target < 20; target++)
            {
                all.Add(batches.CompleteAsync($"t{target}", round % 4, Completion($"e{round}-{target}")));
            }

            await Task.Delay(round % 3);
        }

        Assert.All(await Task.WhenAll(all), o => Assert.Equal(SettleOutcome.Settled, o));
        Assert.Equal(all.Count, written);
        // The drain that set the last outcome forgets its queue a moment after; 5 s is far more than it needs.
        for (var wait = 0; wait < 500 && batches.QueueCount > 0; wait++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(0, batches.QueueCount);
    }

    /// <summary>A relay whose target crm is paused, so nothing is claimed but what a test claims itself.</summary>
    private static async Task<RelayHost> StartPausedAsync(string storeName, FakeTarget crm)
    {
        var relay = await RelayHost.StartAsync(TestStore.Named(storeName), TestYaml.YousignToCrm(TestYaml.Target(crm)));
        await relay.Services.GetRequiredService<EventOperations>().SetPausedAsync("crm", paused: true);
        relay.Services.GetRequiredService<DispatchService>().PauseChanged("crm");
        return relay;
    }

    private static Completion Completion(string id) =>
        new(new ClaimedEvent(id, 0, new DeliveryLease(1), "yousign", "t", "POST", "", null, [], [], 0), "{}");

    private static async Task<string> AcceptAsync(EventStore store, int partition, string dedupeKey)
    {
        var now = DateTimeOffset.UtcNow;
        var stored = new StoredEvent(EventIds.New(partition, now), partition, "yousign", "t", [], dedupeKey, "POST", "", "application/json", [], "{}"u8.ToArray(), now);
        var result = Assert.Single(await store.AcceptAsync([new NewEvent(stored, TimeSpan.FromMinutes(5), ["crm"])]));
        return result.EventId;
    }
}
