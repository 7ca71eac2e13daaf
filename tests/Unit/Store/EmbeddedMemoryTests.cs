using System.Net;
using Relay.Tests.Admin;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Store;

/// <summary>
/// Failure mode: the embedded store outgrowing its memory. Garnet 2.2 fails the whole process when it writes pages to
/// disk while an index or a queue on them changes (seen at about 100,000 queued events with 128 MB), so the relay must
/// keep its records in memory, and refuse new events with 503, losing nothing acked, when the ceiling is near. Each
/// test drives a relay of its own process over HTTP: a crash of the store takes that process down, not the tests.
/// </summary>
public sealed class EmbeddedMemoryTests
{
    private const string Secret = "memory-secret";

    /// <summary>
    /// Set to 1 for a backlog of 300,000 events (about 4 minutes on 2 cores); otherwise 150,000, past the 83,000 to
    /// 114,000 events at which Garnet failed with 128 MB, in about 2 minutes.
    /// </summary>
    private const string LargeTestsVariable = "RELAY_LARGE_TESTS";

    [Fact]
    public async Task Accept_StoreNearItsMemoryCeiling_503WithRetryAfterAndEveryAckedEventKept()
    {
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        var config = await folder.WriteConfigAsync(ConfigYaml(folder, crm, "  embedded: { memory: 128m }\n"));
        using var relay = await RelayProcess.StartAsync(config);
        using var admin = AdminApi.Client(relay.Url);
        await AdminApi.PostAsync(admin, "/admin/targets/crm/pause");

        // 100 KB bodies fill 128 MB in about a thousand events; the limit only keeps a broken guard from running for ever.
        var padding = new string('p', 100_000);
        using var client = new HttpClient { BaseAddress = relay.Url, Timeout = TimeSpan.FromSeconds(60) };
        var acked = 0;
        HttpResponseMessage? refused = null;
        for (var batch = 0; batch < 4_000 && refused is null; batch += 8)
        {
            var answers = await Task.WhenAll(Enumerable.Range(batch, 8).Select(i => client.SendAsync(
                Signing.YousignRequest("/hooks/yousign", Secret, LargeEvent($"full-{i}", padding)))));
            acked += answers.Count(a => a.StatusCode == HttpStatusCode.OK);
            refused = answers.FirstOrDefault(a => a.StatusCode != HttpStatusCode.OK);
        }

        Assert.False(relay.Process.HasExited, "the relay exited while the store filled:\n" + relay.Output);
        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var readiness = await client.GetStringAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Contains("embedded store is full", readiness, StringComparison.Ordinal);
        Assert.Equal(acked, await PendingAtCrmAsync(admin));
    }

    [Fact]
    public async Task Backlog_PastWhereGarnetFailedAcrossACheckpoint_RelayStaysUpAndEveryEventReadsBack()
    {
        var events = Environment.GetEnvironmentVariable(LargeTestsVariable) == "1" ? 300_000 : 150_000;
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder { Partitions = 16 };
        // About 4 KB of store memory per queued event: 300,000 need more than the 1 GB default.
        var config = await folder.WriteConfigAsync(ConfigYaml(folder, crm, "  embedded: { memory: 2g }\n"));
        var relay = await RelayProcess.StartAsync(config);
        try
        {
            using (var admin = AdminApi.Client(relay.Url))
            {
                await AdminApi.PostAsync(admin, "/admin/targets/crm/pause");
            }

            await SeedAsync(relay, 0, events / 2);

            // A stop takes a checkpoint of the whole store (a snapshot written while nothing changes it), and the
            // restart recovers from it: the second half is indexed and queued on top of recovered records.
            var port = relay.Url.Port;
            relay.Process.Signal("TERM");
            await WaitForExitAsync(relay.Process, TimeSpan.FromMinutes(2));
            relay.Dispose();
            relay = await RelayProcess.StartAsync(config, port: port);

            await SeedAsync(relay, events / 2, events);
            Assert.False(relay.Process.HasExited, "the relay exited while seeding:\n" + relay.Output);
            using var reader = AdminApi.Client(relay.Url);
            Assert.Equal(events, await PendingAtCrmAsync(reader));
            var random = new Random(events);
            for (var i = 0; i < 200; i++)
            {
                var n = random.Next(events);
                Assert.Equal(1, (await AdminApi.GetAsync(reader, $"/admin/events?id=seed-{n}")).GetProperty("events").GetArrayLength());
            }
        }
        finally
        {
            relay.Dispose();
        }
    }

    /// <summary>
    /// relay.yaml: one Yousign source routing every event to <paramref name="crm"/>, which the tests pause, so every
    /// acked event waits in its queue; <paramref name="embedded"/> is the <c>store.embedded</c> section, if any.
    /// </summary>
    private static string ConfigYaml(TestFolder folder, FakeTarget crm, string embedded) =>
        folder.StoreYaml(TestStore.Garnet) + embedded + $"""
            admin: {"{"} apiKeys: ["{AdminApi.Key}"] {"}"}
            ingress: {"{"} maxConcurrentRequests: 64, queueLimit: 256 {"}"}
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """;

    /// <summary>A Yousign event whose body carries <paramref name="padding"/>, so a few events fill a lot of memory.</summary>
    private static string LargeEvent(string eventId, string padding) =>
        "{\"padding\":\"" + padding + "\"," + Signing.YousignEvent(eventId)[1..];

    /// <summary>What the relay owes crm (ready, in flight, retrying), from <c>GET /admin/targets</c>.</summary>
    private static async Task<long> PendingAtCrmAsync(HttpClient admin)
    {
        var crm = (await AdminApi.GetAsync(admin, "/admin/targets")).GetProperty("targets").EnumerateArray().Single(t => t.GetProperty("id").GetString() == "crm");
        return crm.GetProperty("ready").GetInt64() + crm.GetProperty("inFlight").GetInt64() + crm.GetProperty("retrying").GetInt64();
    }

    /// <summary>
    /// Sends events <paramref name="from"/> to <paramref name="to"/> (event_id <c>seed-n</c>) over 64 connections, as
    /// fast as the relay acks; every one must be acked, and a relay that exits fails at once with its output.
    /// </summary>
    private static async Task SeedAsync(RelayProcess relay, int from, int to)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = relay.Url, Timeout = TimeSpan.FromSeconds(60) };
        var next = from - 1;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            for (var n = Interlocked.Increment(ref next); n < to; n = Interlocked.Increment(ref next))
            {
                HttpResponseMessage answer;
                try
                {
                    answer = await client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent($"seed-{n}", requestId: $"sr-{n}")));
                }
                catch (HttpRequestException ex)
                {
                    // A connection cut mid-answer: the relay may be going down. Say so, with the end of its output.
                    for (var wait = 0; wait < 50 && !relay.Process.HasExited; wait++)
                    {
                        await Task.Delay(100);
                    }

                    var output = relay.Output;
                    throw new InvalidOperationException(
                        relay.Process.HasExited ? $"the relay exited at event {n}:\n{output[^Math.Min(output.Length, 3000)..]}" : $"event {n}: {ex.Message}", ex);
                }

                Assert.True(answer.StatusCode == HttpStatusCode.OK, $"event {n}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
            }
        }));
    }

    private static async Task WaitForExitAsync(ChildProcess process, TimeSpan limit)
    {
        var deadline = DateTimeOffset.UtcNow + limit;
        while (!process.HasExited && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(process.HasExited, $"the relay did not stop within {limit.TotalSeconds:0} s of SIGTERM");
    }
}
