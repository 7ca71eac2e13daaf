namespace Relay.Connectors;

/// <summary>The reconnect delay math, kept pure so it can be tested with fixed randomness.</summary>
internal static class ReconnectBackoff
{
    /// <param name="failures">Failed connections in a row, counting the one that just ended (1 or more).</param>
    /// <param name="random">A value in [0, 1).</param>
    /// <returns>
    /// The initial delay doubled per failure, capped at <paramref name="max"/>; then "equal jitter": half of it fixed
    /// (a floor, so a failing vendor is never hammered) and half random (so replicas and restarts do not reconnect
    /// in lockstep).
    /// </returns>
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max, double random)
    {
        var doublings = Math.Clamp(failures - 1, 0, 30);
        var ceiling = initial * Math.Pow(2, doublings);
        if (ceiling > max)
        {
            ceiling = max;
        }

        return ceiling * (0.5 + (0.5 * random));
    }
}
