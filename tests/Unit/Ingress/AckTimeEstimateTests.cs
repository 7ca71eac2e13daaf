using Microsoft.Extensions.Time.Testing;
using Relay.Ingress;

namespace Relay.Tests.Ingress;

/// <summary>The time from a turn to an ack that a queued webhook request sets aside: the 99th percentile of recent acks.</summary>
public sealed class AckTimeEstimateTests
{
    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan Slow = TimeSpan.FromMilliseconds(300);

    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void Record_RareSlowAck_IgnoredUnderOnePercent()
    {
        var estimate = new AckTimeEstimate(_clock);
        Assert.Equal(TimeSpan.Zero, estimate.Current);
        Record(estimate, Fast, AckTimeEstimate.Window);
        Assert.Equal(Fast, estimate.Current);

        // Two slow acks in the window are under 1% of it; a third is not.
        Record(estimate, Slow, 2);
        Record(estimate, Fast, AckTimeEstimate.RefreshEvery - 2);
        Assert.Equal(Fast, estimate.Current);
        Record(estimate, Slow, 1);
        Record(estimate, Fast, AckTimeEstimate.RefreshEvery - 1);
        Assert.Equal(Slow, estimate.Current);
    }

    [Fact]
    public void Record_StoreSlowsThenRecovers_EstimateFollowsWithinTheWindow()
    {
        var estimate = new AckTimeEstimate(_clock);
        Record(estimate, Fast, AckTimeEstimate.Window);

        // Acks slow down: one refresh later the estimate has them.
        Record(estimate, Slow, AckTimeEstimate.RefreshEvery);
        Assert.Equal(Slow, estimate.Current);

        // They speed up again: the slow ones count while they are in the window, and not after.
        Record(estimate, Fast, AckTimeEstimate.Window - AckTimeEstimate.RefreshEvery);
        Assert.Equal(Slow, estimate.Current);
        Record(estimate, Fast, AckTimeEstimate.RefreshEvery);
        Assert.Equal(Fast, estimate.Current);
    }

    [Fact]
    public void Record_FewAcksAfterASlowSpell_SlowSpellForgottenAfterTheHorizon()
    {
        var estimate = new AckTimeEstimate(_clock);
        Record(estimate, Slow, 20);
        Assert.Equal(Slow, estimate.Current);

        // A fast ack within the horizon does not outweigh the slow ones; once they are older than the horizon, it does.
        _clock.Advance(AckTimeEstimate.Horizon / 2);
        estimate.Record(Fast);
        Assert.Equal(Slow, estimate.Current);
        _clock.Advance(AckTimeEstimate.Horizon / 2 + TimeSpan.FromMilliseconds(1));
        estimate.Record(Fast);
        Assert.Equal(Fast, estimate.Current);
    }

    private static void Record(AckTimeEstimate estimate, TimeSpan elapsed, int times)
    {
        for (var i = 0; i < times; i++)
        {
            estimate.Record(elapsed);
        }
    }
}
