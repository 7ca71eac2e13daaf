using Microsoft.Extensions.DependencyInjection;
using Relay.Store;
using Relay.Tests.Admin;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Store;

/// <summary>
/// The merged newest-first listing at its edges, written straight into the store: many events in one millisecond,
/// and a filter that matches only a few events far down a busy index (the per-partition scan cap).
/// </summary>
public sealed class EventListingTests
{
    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task ListEvents_ManyInSameMillisecondAcrossPartitions_EveryEventExactlyOnceInOrder(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        var store = relay.Services.GetRequiredService<EventStore>();
        var listing = relay.Services.GetRequiredService<EventListing>();
        var at = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        // Most in one partition, so a chunk read from it can consist of nothing but entries the cursor has passed.
        var ids = await AcceptAsync(store, "same-ms", 150, _ => at, partition: i => i < 140 ? 0 : 1);

        var (seen, pages) = await AllPagesAsync(listing, new EventQuery(), limit: 40);

        Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        Assert.Equal(ids.OrderDescending(StringComparer.Ordinal), seen);
        Assert.Equal(4, pages);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Search_RareSourceWithinABusyType_ShortPagesWithCursorStillReachEveryMatch(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        var store = relay.Services.GetRequiredService<EventStore>();
        var listing = relay.Services.GetRequiredService<EventListing>();
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        var rare = await AcceptAsync(store, "rare", 3, i => start.AddMilliseconds(i), partition: _ => 1);
        await AcceptAsync(store, "busy", 2500, i => start.AddSeconds(1).AddMilliseconds(i), partition: _ => 1);

        // The type drives the query (its index holds all 2,503), the source is checked on each event read: the first
        // page stops at the scan cap and hands back a cursor, and following it reaches every match.
        var (found, pages) = await AllPagesAsync(listing, new EventQuery(Source: "rare", TypeGlob: "t"), limit: 50);

        Assert.Equal(rare.OrderDescending(StringComparer.Ordinal), found);
        Assert.True(pages >= 2, "the first page stops at the scan cap and hands back a cursor");
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Search_RareSource_FoundOnTheFirstPageThroughTheSourceIndex(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        var store = relay.Services.GetRequiredService<EventStore>();
        var listing = relay.Services.GetRequiredService<EventListing>();
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        var rare = await AcceptAsync(store, "rare", 3, i => start.AddMilliseconds(i), partition: _ => 1);
        await AcceptAsync(store, "busy", 2500, i => start.AddSeconds(1).AddMilliseconds(i), partition: _ => 1);

        var (found, pages) = await AllPagesAsync(listing, new EventQuery(Source: "rare"), limit: 50);

        Assert.Equal(rare.OrderDescending(StringComparer.Ordinal), found);
        Assert.Equal(1, pages);
    }

    /// <summary>Follows the cursor to the end (at most 20 pages); returns every id listed, in order, and the page count.</summary>
    private static async Task<(List<string> Ids, int Pages)> AllPagesAsync(EventListing store, EventQuery query, int limit)
    {
        var ids = new List<string>();
        IndexPosition? cursor = null;
        var pages = 0;
        do
        {
            var page = await store.SearchAsync(query, [], [], limit, cursor);
            ids.AddRange(page.Items.Select(e => e.Id));
            cursor = page.Next;
            pages++;
        }
        while (cursor is not null && pages < 20);
        return (ids, pages);
    }

    /// <summary>Accepts <paramref name="count"/> events of <paramref name="source"/> for crm, pipelined; returns their ids.</summary>
    private static async Task<string[]> AcceptAsync(EventStore store, string source, int count, Func<int, DateTimeOffset> at, Func<int, int> partition)
    {
        var events = Enumerable.Range(0, count).Select(i =>
        {
            var p = partition(i);
            return new StoredEvent(EventIds.New(p, at(i)), p, source, "t", [], $"{source}-{i}", "POST", "", "application/json", [], "{}"u8.ToArray(), at(i));
        }).ToArray();
        // In concurrent batches: each batch is one durable wait, and the batches are pipelined.
        await Task.WhenAll(events.Chunk(100).Select(chunk => store.AcceptAsync([.. chunk.Select(e => new NewEvent(e, TimeSpan.FromMinutes(5), []))])));
        return [.. events.Select(e => e.Id)];
    }
}
