using Relay.Configuration;
using Relay.Dispatch;

namespace Relay.Tests.Dispatch;

public sealed class RetryScheduleTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RetryConfig Schedule = new([TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2)], Jitter: 0.2);

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 30)]
    [InlineData(3, 120)]
    public void NextAttemptAt_NoJitterDraw_FollowsSchedule(int attemptsMade, int seconds) =>
        Assert.Equal(Now.AddSeconds(seconds), RetrySchedule.NextAttemptAt(Schedule, attemptsMade, null, Now, random: 0.5));

    [Fact]
    public void NextAttemptAt_ScheduleSpent_Null() => Assert.Null(RetrySchedule.NextAttemptAt(Schedule, 4, null, Now, 0.5));

    [Theory]
    [InlineData(0.0, 24)]
    [InlineData(0.999999, 36)]
    public void NextAttemptAt_Jitter_StaysWithinBand(double random, int expectedSeconds)
    {
        var at = RetrySchedule.NextAttemptAt(Schedule, 2, null, Now, random)!.Value;
        Assert.Equal(expectedSeconds, (at - Now).TotalSeconds, precision: 2);
    }

    [Fact]
    public void NextAttemptAt_RetryAfterLonger_Honoured()
    {
        Assert.Equal(Now.AddSeconds(90), RetrySchedule.NextAttemptAt(Schedule, 1, TimeSpan.FromSeconds(90), Now, 0.5));
        Assert.Equal(Now.AddSeconds(5), RetrySchedule.NextAttemptAt(Schedule, 1, TimeSpan.FromSeconds(1), Now, 0.5));
    }

    [Fact]
    public void NextAttemptAt_RetryAfterAbsurd_Capped() =>
        Assert.Equal(Now + RetrySchedule.MaxRetryAfter, RetrySchedule.NextAttemptAt(Schedule, 1, TimeSpan.FromDays(30), Now, 0.5));

    [Fact]
    public void NextAttemptAt_EmptySchedule_DeadAfterFirstFailure() =>
        Assert.Null(RetrySchedule.NextAttemptAt(new RetryConfig([], 0), 1, null, Now, 0.5));
}
