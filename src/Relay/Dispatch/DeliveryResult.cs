namespace Relay.Dispatch;

internal enum DeliveryOutcome
{
    /// <summary>2xx, and the success body when the target requires one.</summary>
    Delivered,

    /// <summary>Worth another try: 408, 425, 429, 5xx, 3xx, timeouts, connection errors.</summary>
    Retry,

    /// <summary>The target refused the event (other 4xx); retrying cannot help.</summary>
    Reject,

    /// <summary>Not tried: the relay is shutting down. Handed back untouched, ready at once for whoever runs next.</summary>
    Abandoned,

    /// <summary>Not tried: the target's circuit is open. Handed back untouched until the breaker lets a probe through.</summary>
    CircuitOpen,

    /// <summary>Not sent: the source's deferred check rejected the event; dead-lettered with the check's reason.</summary>
    Quarantined,
}

/// <summary>The result of one attempt: expected failures are values, not exceptions (YARP's ForwarderError).</summary>
/// <param name="RetryAfter">How long to wait before the next try, when the target (Retry-After) or the breaker says.</param>
internal sealed record DeliveryResult(DeliveryOutcome Outcome, int? Status, TimeSpan? RetryAfter, string? Error, TimeSpan Duration)
{
    /// <summary>Short reason for the event's state and dead letters.</summary>
    public string Reason => Error ?? (Status is { } s ? $"HTTP {s}" : Outcome.ToString());

    /// <summary>False when the event was handed back without being sent: no attempt is counted or recorded.</summary>
    public bool WasAttempted => Outcome is not (DeliveryOutcome.Abandoned or DeliveryOutcome.CircuitOpen);

    public static DeliveryResult ShuttingDown(TimeSpan elapsed) => new(DeliveryOutcome.Abandoned, null, null, "relay shutting down", elapsed);

    public static DeliveryResult CircuitIsOpen(TimeSpan retryAfter) => new(DeliveryOutcome.CircuitOpen, null, retryAfter, "circuit open", TimeSpan.Zero);
}
