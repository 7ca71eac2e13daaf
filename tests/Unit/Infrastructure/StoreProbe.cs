using Relay.Store;
using StackExchange.Redis;

namespace Relay.Tests.Infrastructure;

/// <summary>What a test relay stored, read straight from its store (its key prefix is unique to the test).</summary>
internal static class StoreProbe
{
    /// <summary>Every event-related key this test's relay wrote (its prefix is unique to the test).</summary>
    public static async Task<IReadOnlyList<string>> StoreKeysAsync(RelayHost relay)
    {
        var keys = new List<string>();
        var prefix = relay.Store.Keys.Prefix;
        var db = relay.Store.Database;
        var cursor = "0";
        do
        {
            var page = (RedisResult[])(await db.ExecuteAsync("SCAN", cursor, "MATCH", $"{{{prefix}:p*", "COUNT", 1000))!;
            cursor = (string)page[0]!;
            keys.AddRange(((RedisResult[])page[1]!).Select(k => (string)k!));
        }
        while (cursor != "0");
        return keys;
    }

    /// <summary>The event hash's remaining time to live in ms; -1 while it has none (a target still owes the event).</summary>
    public static async Task<double> TimeToLiveAsync(RelayHost relay, string id)
    {
        Assert.True(EventIds.TryGetPartition(id, relay.Store.Layout.Span, out var partition));
        var ttl = await relay.Store.Database.ExecuteAsync("PTTL", relay.Store.Keys.Event(partition, id).ToString());
        return (long)ttl;
    }

    /// <summary>Ids of every event the relay accepted, whatever their routing, newest first per partition.</summary>
    public static async Task<IReadOnlyList<string>> EventIdsAsync(RelayHost relay)
    {
        var ids = new List<string>();
        for (var p = 0; p < relay.Store.Layout.Span; p++)
        {
            ids.AddRange((await relay.Store.Database.SortedSetRangeByRankAsync(relay.Store.Keys.Index(p), order: Order.Descending)).Select(v => (string)v!));
        }

        return ids;
    }

    public static async Task<Dictionary<string, string>> EventStateAsync(RelayHost relay, string id)
    {
        Assert.True(EventIds.TryGetPartition(id, relay.Store.Config.Partitions, out var partition), $"'{id}' is not an event id");
        var entries = await relay.Store.Database.HashGetAllAsync(relay.Store.Keys.Event(partition, id));
        return entries.Where(e => e.Name != "body").ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
    }

    public static async Task<string> WaitForStateAsync(RelayHost relay, string id, string target, string expected)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        string? state = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            state = (await EventStateAsync(relay, id)).GetValueOrDefault($"{target}.state");
            if (state == expected)
            {
                return state;
            }

            await Task.Delay(50);
        }

        return state ?? "(none)";
    }

    public static async Task<bool> IsDeadAsync(RelayHost relay, string id, string target)
    {
        EventIds.TryGetPartition(id, relay.Store.Config.Partitions, out var partition);
        return (await relay.Store.Database.SortedSetScoreAsync(relay.Store.Keys.Dead(partition, target), id)).HasValue;
    }
}

/// <summary>relay.yaml snippets shared by the end-to-end tests.</summary>
internal static class TestYaml
{
    /// <summary>The webhook secret of the <c>yousign</c> source these snippets configure.</summary>
    public const string YousignSecret = "test-yousign-secret";

    /// <summary>A <c>yousign</c> source on /hooks/yousign whose every event goes to the one target <c>crm</c>.</summary>
    public static string YousignToCrm(string crm) => $"""
        sources:
          yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {YousignSecret}, routes: [{"{"} target: crm {"}"}] {"}"}
        targets:
          crm: {crm}
        """;

    /// <summary>A target at <paramref name="target"/> with a short, jitter-free retry schedule.</summary>
    public static string Target(FakeTarget target, string schedule = "[1s, 2s]", string timeout = "5s") =>
        $"{{ url: \"{target.Url}hook?from=relay\", timeout: {timeout}, concurrency: 4, retry: {{ schedule: {schedule}, jitter: 0 }} }}";
}
