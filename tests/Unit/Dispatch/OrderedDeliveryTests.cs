using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Relay.Tests.Admin;
using Relay.Tests.Configuration;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Dispatch;

/// <summary>
/// <c>ordering: key</c>: a target delivers the events of one ordering key (here Yousign's signature request) one at a
/// time, in accept order, and only the failing key waits. Failure modes: a retry letting a later event overtake; one
/// key's failure holding up the others; two deliveries of one key in flight at once (two replicas, kill -9, lease
/// reclaim); a dead letter under <c>block</c> and its redrive or purge; a replay jumping its key's queue.
/// </summary>
public sealed class OrderedDeliveryTests
{
    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task FailingFirstEventOfOneKey_ItsEventsArriveInOrderAfterRecovery_OtherKeysNotDelayed(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        var ledger = new KeyLedger();
        var failuresLeft = 2;
        crm.Respond = (ctx, _) => ledger.AnswerAsync(ctx, TimeSpan.FromMilliseconds(40), (key, id) =>
            id == "A1" && Interlocked.Decrement(ref failuresLeft) >= 0 ? 503 : 200);
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), Yaml(crm));

        await SendAsync(relay, ["A1", "B1", "C1", "A2", "B2", "C2", "A3", "B3", "C3"]);

        await ledger.WaitForDeliveredAsync(9);
        Assert.Equal(["A1", "A2", "A3"], ledger.DeliveredOf("A"));
        Assert.Equal(["B1", "B2", "B3"], ledger.DeliveredOf("B"));
        Assert.Equal(["C1", "C2", "C3"], ledger.DeliveredOf("C"));
        Assert.Equal(2, ledger.Refused.Count(id => id == "A1"));
        Assert.True(ledger.DeliveredAt("B3") < ledger.DeliveredAt("A1") && ledger.DeliveredAt("C3") < ledger.DeliveredAt("A1"),
            $"B and C waited for A's retries:\n{ledger}");
        Assert.Equal(0, ledger.Overlaps);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task DeadLetter_Skip_ReleasesTheKeysNextEvents(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        var ledger = new KeyLedger();
        crm.Respond = (ctx, _) => ledger.AnswerAsync(ctx, TimeSpan.Zero, (key, id) => id == "A1" ? 410 : 200);
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), Yaml(crm, onDeadLetter: "skip"));
        using var admin = AdminApi.Client(relay);

        await SendAsync(relay, ["A1", "A2", "A3"]);

        await ledger.WaitForDeliveredAsync(2);
        Assert.Equal(["A2", "A3"], ledger.DeliveredOf("A"));
        Assert.Empty((await AdminApi.GetAsync(admin, "/admin/targets/crm/blocked")).GetProperty("blocked").EnumerateArray());
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task DeadLetter_Block_KeyHeldAndListed_RedriveDeliversItFirst_PurgeReleasesTheNext(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        var ledger = new KeyLedger();
        var rejecting = true;
        crm.Respond = (ctx, _) => ledger.AnswerAsync(ctx, TimeSpan.Zero, (key, id) =>
            Volatile.Read(ref rejecting) && id is "A1" or "D1" ? 410 : 200);
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), Yaml(crm, onDeadLetter: "block"));
        using var admin = AdminApi.Client(relay);

        await SendAsync(relay, ["A1", "A2", "B1", "A3", "D1", "D2"]);

        await ledger.WaitForDeliveredAsync(1);
        var blocked = await AdminApi.WaitForAsync(admin, "/admin/targets/crm/blocked", b => b.GetProperty("blocked").GetArrayLength() == 2);
        var a = blocked.GetProperty("blocked").EnumerateArray().Single(b => b.GetProperty("key").GetString() == "sr-A");
        Assert.Equal(2, a.GetProperty("waiting").GetInt64());
        Assert.Equal("rejected: HTTP 410", a.GetProperty("reason").GetString());
        await Task.Delay(300);
        Assert.Equal(["B1"], ledger.Delivered.Select(d => d.Id));

        // Redrive: the dead letter that holds A goes first, then the rest of A in order.
        Volatile.Write(ref rejecting, false);
        var aDead = a.GetProperty("eventId").GetString()!;
        await AdminApi.PostAsync(admin, "/admin/targets/crm/dead-letters/redrive", json: $$"""{"ids": ["{{aDead}}"]}""");
        await ledger.WaitForDeliveredAsync(4);
        Assert.Equal(["A1", "A2", "A3"], ledger.DeliveredOf("A"));

        // Purge: D's dead letter is dropped, and D2 is released.
        Assert.Empty(ledger.DeliveredOf("D"));
        await admin.DeleteAsync(new Uri("/admin/targets/crm/dead-letters", UriKind.Relative));
        await ledger.WaitForDeliveredAsync(5);
        Assert.Equal(["D2"], ledger.DeliveredOf("D"));
        Assert.Empty((await AdminApi.GetAsync(admin, "/admin/targets/crm/blocked")).GetProperty("blocked").EnumerateArray());
        Assert.Equal(0, ledger.Overlaps);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Replay_GoesToTheBackOfItsKeyQueue(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        var ledger = new KeyLedger();
        using var a3Started = new SemaphoreSlim(0);
        crm.Respond = async (ctx, _) =>
        {
            await ledger.AnswerAsync(ctx, TimeSpan.Zero, (key, id) =>
            {
                if (id == "A3")
                {
                    a3Started.Release();
                    Thread.Sleep(800);
                }

                return 200;
            });
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), Yaml(crm));
        using var admin = AdminApi.Client(relay);
        await SendAsync(relay, ["A1", "A2"]);
        await ledger.WaitForDeliveredAsync(2);
        var a1 = (await AdminApi.GetAsync(admin, "/admin/events?limit=10")).GetProperty("events").EnumerateArray().Last().GetProperty("id").GetString()!;

        await SendAsync(relay, ["A3"]);
        Assert.True(await a3Started.WaitAsync(TimeSpan.FromSeconds(10)));
        await AdminApi.PostAsync(admin, $"/admin/events/{a1}/replay", HttpStatusCode.Accepted);

        await ledger.WaitForDeliveredAsync(4, distinct: false);
        Assert.Equal(["A1", "A2", "A3", "A1"], ledger.DeliveredOf("A"));
        Assert.Equal(0, ledger.Overlaps);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task KillDashNine_MidDelivery_OrderKeptAndNothingLost(string storeName)
    {
        var store = TestStore.Named(storeName);
        await using var crm = await FakeTarget.StartAsync();
        var ledger = new KeyLedger();
        crm.Respond = (ctx, _) => ledger.AnswerAsync(ctx, TimeSpan.FromMilliseconds(150), (_, _) => 200);
        var folder = new TestFolder();
        var config = await folder.WriteConfigAsync(folder.StoreYaml(store) + Yaml(crm, timeout: "1s"));
        string[] ids = [.. Enumerable.Range(1, 8).SelectMany(i => new[] { $"A{i}", $"B{i}", $"C{i}" })];

        using (var first = await RelayProcess.StartAsync(config))
        {
            using var client = new HttpClient { BaseAddress = first.Url };
            foreach (var id in ids)
            {
                Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Request(id))).StatusCode);
            }

            await ledger.WaitForArrivalsAsync(7);
            first.KillHard();
        }

        using var second = await RelayProcess.StartAsync(config);
        await ledger.WaitForDeliveredAsync(ids.Length, TimeSpan.FromSeconds(90));

        // At least once: deliveries whose settle the crash lost are made again, but only in order. Per key, each event
        // is first delivered after the one before it, and the sequence steps back at most once (the restart).
        foreach (var key in new[] { "A", "B", "C" })
        {
            var sequence = ledger.DeliveredOf(key).Select(id => int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal([.. Enumerable.Range(1, 8)], sequence.Distinct());
            var rewinds = sequence.Zip(sequence.Skip(1)).Count(pair => pair.Second <= pair.First);
            Assert.True(sequence.Zip(sequence.Skip(1)).All(pair => pair.Second == pair.First + 1 || pair.Second <= pair.First) && rewinds <= 1,
                $"key {key} delivered out of order: {string.Join(", ", sequence)}");
        }

        Assert.Equal(0, ledger.Overlaps);
    }

    [Fact]
    public async Task TwoReplicas_OneOrderedTarget_NeverTwoEventsOfOneKeyInFlight()
    {
        var store = TestStore.Named("redis");
        await using var crm = await FakeTarget.StartAsync();
        var ledger = new KeyLedger();
        crm.Respond = (ctx, _) => ledger.AnswerAsync(ctx, TimeSpan.FromMilliseconds(25), (_, _) => 200);
        var folder = new TestFolder();
        await using var one = await RelayHost.StartAsync(store, Yaml(crm, concurrency: 8), folder);
        await using var two = await RelayHost.StartAsync(store, Yaml(crm, concurrency: 8), folder);
        string[] keys = ["A", "B", "C", "D", "E", "F"];
        string[] ids = [.. Enumerable.Range(1, 6).SelectMany(i => keys.Select(k => $"{k}{i}"))];

        for (var i = 0; i < ids.Length; i++)
        {
            var relay = i % 2 == 0 ? one : two;
            Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Request(ids[i]))).StatusCode);
        }

        await ledger.WaitForDeliveredAsync(ids.Length);
        foreach (var key in keys)
        {
            Assert.Equal([.. Enumerable.Range(1, 6).Select(i => $"{key}{i}")], ledger.DeliveredOf(key));
        }

        Assert.Equal(0, ledger.Overlaps);
        Assert.True(ledger.MaxConcurrent > 1, "the keys were not delivered in parallel at all");
    }

    [Fact]
    public void Config_OrderingAndOnDeadLetter_Validated()
    {
        const string Source = "sources: { y: { kind: yousign, path: /y, secret: s, routes: [{ target: crm }] } }\n";
        var (ok, none) = ConfigLoaderTests.Load(Source + "targets: { crm: { url: \"http://crm/\", ordering: key, onDeadLetter: block } }");
        Assert.Empty(none);
        Assert.True(ok!.Config.Targets["crm"].OrderedByKey);
        Assert.True(ok.Config.Targets["crm"].BlockOnDeadLetter);

        var (_, errors) = ConfigLoaderTests.Load(Source + "targets: { crm: { url: \"http://crm/\", ordering: envelope }, b: { url: \"http://b/\", onDeadLetter: block } }");
        Assert.Contains(errors, e => e.StartsWith("targets:crm:ordering: 'envelope' is not one of: none, key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets:b:onDeadLetter: block only applies with ordering: key", StringComparison.Ordinal));
    }

    /// <summary>The yousign source routed to crm, ordered by key; the console's browser tests use it too.</summary>
    internal static string Yaml(FakeTarget crm, string onDeadLetter = "skip", string timeout = "5s", int concurrency = 4) => $$"""
        admin:
          apiKeys: ["{{AdminApi.Key}}"]
        sources:
          yousign: { kind: yousign, path: /hooks/yousign, secret: {{AdminApi.Secret}}, routes: [{ target: crm }] }
        targets:
          crm:
            url: "{{crm.Url}}hook"
            timeout: {{timeout}}
            concurrency: {{concurrency}}
            ordering: key
            onDeadLetter: {{onDeadLetter}}
            retry: { schedule: [300ms, 300ms, 300ms, 300ms, 300ms, 300ms], jitter: 0 }
        """;

    /// <summary>A Yousign event whose id is <paramref name="id"/> and whose signature request (the ordering key) is "sr-" and its letter.</summary>
    private static HttpRequestMessage Request(string id) =>
        Signing.YousignRequest("/hooks/yousign", AdminApi.Secret, Signing.YousignEvent(id, requestId: $"sr-{id[..1]}"));

    /// <summary>Sends each event in turn, each acknowledged before the next: that is the accept order.</summary>
    private static async Task SendAsync(RelayHost relay, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Request(id))).StatusCode);
        }
    }

    /// <summary>
    /// What the target saw, per ordering key: every delivery with its start and end, whether it was accepted, and
    /// every time a delivery of a key started while another of the same key was still being answered.
    /// </summary>
    private sealed class KeyLedger
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, int> _inFlight = [];
        private readonly List<(string Key, string Id, DateTimeOffset At)> _delivered = [];
        private readonly ConcurrentQueue<string> _refused = new();
        private readonly SemaphoreSlim _changed = new(0);
        private int _arrivals;
        private int _concurrent;

        public int Overlaps { get; private set; }

        public int MaxConcurrent { get; private set; }

        public IReadOnlyList<string> Refused => [.. _refused];

        public IReadOnlyList<(string Key, string Id, DateTimeOffset At)> Delivered
        {
            get
            {
                lock (_gate)
                {
                    return [.. _delivered];
                }
            }
        }

        public List<string> DeliveredOf(string key) => [.. Delivered.Where(d => d.Key == key).Select(d => d.Id)];

        public DateTimeOffset DeliveredAt(string id) => Delivered.First(d => d.Id == id).At;

        /// <summary>Answers one delivery with <paramref name="decide"/>'s status after <paramref name="delay"/>, recording it.</summary>
        public async Task AnswerAsync(HttpContext ctx, TimeSpan delay, Func<string, string, int> decide)
        {
            var body = JsonDocument.Parse(await new StreamReader(ctx.Request.Body).ReadToEndAsync()).RootElement;
            var id = body.GetProperty("event_id").GetString()!;
            var key = id[..1];
            lock (_gate)
            {
                _arrivals++;
                _concurrent++;
                MaxConcurrent = Math.Max(MaxConcurrent, _concurrent);
                var inFlight = _inFlight.GetValueOrDefault(key);
                Overlaps += inFlight > 0 ? 1 : 0;
                _inFlight[key] = inFlight + 1;
            }

            var status = 500;
            try
            {
                await Task.Delay(delay);
                status = decide(key, id);
                ctx.Response.StatusCode = status;
            }
            finally
            {
                lock (_gate)
                {
                    _concurrent--;
                    _inFlight[key]--;
                    if (status == 200)
                    {
                        _delivered.Add((key, id, DateTimeOffset.UtcNow));
                    }
                    else
                    {
                        _refused.Enqueue(id);
                    }
                }

                _changed.Release();
            }
        }

        /// <summary>Waits for <paramref name="count"/> distinct events delivered (or deliveries, counting repeats, unless <paramref name="distinct"/>).</summary>
        public Task WaitForDeliveredAsync(int count, TimeSpan? timeout = null, bool distinct = true) =>
            WaitAsync(() => (distinct ? Delivered.Select(d => d.Id).Distinct().Count() : Delivered.Count) >= count, timeout);

        public Task WaitForArrivalsAsync(int count) => WaitAsync(() => Volatile.Read(ref _arrivals) >= count, null);

        public override string ToString() => string.Join("\n", Delivered.Select(d => $"{d.At:HH:mm:ss.fff} {d.Id}"));

        private async Task WaitAsync(Func<bool> done, TimeSpan? timeout)
        {
            var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
            while (!done())
            {
                var left = deadline - DateTimeOffset.UtcNow;
                Assert.True(left > TimeSpan.Zero, $"timed out; delivered so far:\n{this}");
                await _changed.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
            }
        }
    }
}
