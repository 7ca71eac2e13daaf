using Relay.Configuration;

namespace Relay.Dispatch;

/// <summary>The retry math, kept pure so it can be tested with fixed time and randomness (Polly's RetryHelper).</summary>
internal static class RetrySchedule
{
    /// <summary>The longest Retry-After we honour; a target asking for more gets this, so an event is never parked for days.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(24);

    /// <param name="attemptsMade">Attempts made so far, including the one that just failed.</param>
    /// <param name="retryAfter">The target's Retry-After, if any: never retry sooner than it asks.</param>
    /// <param name="random">A value in [0, 1) that spreads retries of many events (jitter).</param>
    /// <returns>When to try again, or null when the schedule is spent and the event goes to the dead letters.</returns>
    public static DateTimeOffset? NextAttemptAt(RetryConfig retry, int attemptsMade, TimeSpan? retryAfter, DateTimeOffset now, double random)
    {
        if (attemptsMade > retry.Schedule.Count)
        {
            return null;
        }

        var delay = retry.Schedule[attemptsMade - 1];
        var jittered = delay * (1 + (retry.Jitter * ((2 * random) - 1)));
        if (retryAfter is { } asked && asked > jittered)
        {
            jittered = asked < MaxRetryAfter ? asked : MaxRetryAfter;
        }

        return now + jittered;
    }
}
