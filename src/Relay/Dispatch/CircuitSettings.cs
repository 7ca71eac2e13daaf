namespace Relay.Dispatch;

/// <summary>
/// When a target's circuit breaker opens and how long it stays open (Polly's circuit breaker). While open, the
/// target's events wait in the store instead of timing out one after another, and after each break one event is sent
/// as a probe. One set for every target, stated here once; tests inject shorter ones.
/// </summary>
/// <param name="FailureRatio">Share of failed attempts (retryable failures) in the sampling window that opens the circuit.</param>
/// <param name="MinimumThroughput">Attempts the window must hold before the ratio counts.</param>
/// <param name="SamplingDuration">The window the ratio is measured over.</param>
/// <param name="BreakDuration">How long the circuit stays open before a probe is let through.</param>
internal sealed record CircuitSettings(double FailureRatio, int MinimumThroughput, TimeSpan SamplingDuration, TimeSpan BreakDuration)
{
    /// <summary>Half of at least 10 attempts within 30 s failed: open for 15 s.</summary>
    public static CircuitSettings Default { get; } = new(0.5, 10, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(15));
}

/// <summary>
/// How long a claim's lease lasts: the target's timeout plus <paramref name="Margin"/>. While a delivery runs, the lease
/// is extended every third of that, so a slow deferred check plus a slow target never lets another worker claim the
/// event meanwhile; if the worker dies, the event is claimed again once the lease runs out. Tests inject a short margin.
/// </summary>
internal sealed record LeaseSettings(TimeSpan Margin)
{
    public static LeaseSettings Default { get; } = new(TimeSpan.FromSeconds(30));
}
