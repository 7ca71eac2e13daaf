namespace Relay.Dispatch;

internal enum DeliveryOutcome
{
    /// <summary>2xx, and the success body when the target requires one.</summary>
    Delivered,

    /// <summary>Worth another try: 408, 425, 429, 5xx, 3xx, timeouts, connection errors.</summary>
    Retry,

    /// <summary>The target refused the event (other 4xx); retrying cannot help.</summary>
    Reject,

    /// <summary>Not tried (relay shutting down); handed back untouched.</summary>
    Abandoned,

    /// <summary>Not sent: the source's delivery gate rejected the event; dead-lettered with the gate's reason.</summary>
    Quarantined,
}

/// <summary>The result of one attempt: expected failures are values, not exceptions (YARP's ForwarderError).</summary>
internal sealed record DeliveryResult(DeliveryOutcome Outcome, int? Status, TimeSpan? RetryAfter, string? Error, TimeSpan Duration)
{
    /// <summary>Short reason for the event's state and dead letters.</summary>
    public string Reason => Error ?? (Status is { } s ? $"HTTP {s}" : Outcome.ToString());
}
