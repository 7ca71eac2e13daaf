using Relay.Store;

namespace Relay.Tests.Store;

public sealed class EventIdsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void New_CarriesPartition_AndIsUnique()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => EventIds.New(7, Now)).ToHashSet();

        Assert.Equal(1000, ids.Count);
        Assert.All(ids, id =>
        {
            Assert.Matches("^evt_[0-9A-HJKMNP-TV-Z]{26}_7$", id);
            Assert.True(EventIds.TryGetPartition(id, 16, out var partition));
            Assert.Equal(7, partition);
        });
    }

    [Fact]
    public void New_LaterTime_SortsAfter() =>
        Assert.True(string.CompareOrdinal(EventIds.New(0, Now), EventIds.New(0, Now.AddMilliseconds(1))) < 0);

    [Theory]
    [InlineData("evt_01ABC_3", 2)]
    [InlineData("nope_3", 16)]
    [InlineData("evt_01ABC", 16)]
    [InlineData("evt_01ABC_-1", 16)]
    [InlineData("evt_01ABC_x", 16)]
    public void TryGetPartition_NotOurs_False(string id, int partitions) => Assert.False(EventIds.TryGetPartition(id, partitions, out _));

    [Fact]
    public void PartitionOf_SameKey_SamePartitionAndSpread()
    {
        Assert.Equal(EventIds.PartitionOf("envelope-42", 16), EventIds.PartitionOf("envelope-42", 16));
        var used = Enumerable.Range(0, 500).Select(i => EventIds.PartitionOf($"envelope-{i}", 16)).ToHashSet();
        Assert.Equal(16, used.Count);
        Assert.InRange(EventIds.PartitionOf(new string('x', 10_000), 16), 0, 15);
    }
}
