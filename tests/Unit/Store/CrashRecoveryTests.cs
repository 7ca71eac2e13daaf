using System.Net;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Store;

/// <summary>The promise behind every ack: an acknowledged event survives <c>kill -9</c> of the relay.</summary>
public sealed class CrashRecoveryTests
{
    private const string Secret = "crash-secret";

    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task KillDashNine_AfterAck_EventsDeliveredAfterRestart(string storeName)
    {
        var store = TestStore.Named(storeName);
        await using var crm = await FakeTarget.StartAsync();
        var delivering = false;
        crm.Respond = (ctx, _) =>
        {
            // Down until the relay has been killed, so nothing can be delivered before the crash.
            ctx.Response.StatusCode = Volatile.Read(ref delivering) ? 200 : 503;
            return Task.CompletedTask;
        };
        var folder = new TestFolder();
        var config = await folder.WriteConfigAsync(folder.StoreYaml(store) + $"""
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {"{"} url: "{crm.Url}hook", timeout: 2s, retry: {"{"} schedule: [1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s], jitter: 0 {"}"} {"}"}
            """);

        const int events = 50;
        using (var first = await RelayProcess.StartAsync(config))
        {
            using var client = new HttpClient { BaseAddress = first.Url };
            var acks = await Task.WhenAll(Enumerable.Range(0, events).Select(i =>
                client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent($"crash-{i}", requestId: $"sr-{i}")))));
            Assert.All(acks, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
            first.KillHard();
        }

        var recoveredAt = DateTimeOffset.UtcNow;
        Volatile.Write(ref delivering, true);
        using var second = await RelayProcess.StartAsync(config);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (DateTimeOffset.UtcNow < deadline && Delivered(crm, recoveredAt).Count < events)
        {
            await Task.Delay(200);
        }

        var delivered = Delivered(crm, recoveredAt);
        Assert.True(delivered.Count == events, $"{delivered.Count} of {events} acknowledged events delivered after kill -9.\n{second.Output}");
    }

    /// <summary>Distinct vendor events (the body's event_id) the target accepted, i.e. received after it came up.</summary>
    private static HashSet<string> Delivered(FakeTarget target, DateTimeOffset since)
    {
        return target.Received
            .Where(r => r.At >= since)
            .Select(r => System.Text.Json.JsonDocument.Parse(r.Body).RootElement.GetProperty("event_id").GetString()!)
            .ToHashSet();
    }
}
