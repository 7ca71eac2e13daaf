namespace Relay.Verification;

internal enum DeferredOutcome
{
    /// <summary>The event is genuine and may be delivered.</summary>
    Pass,

    /// <summary>The event must not be delivered to any target: it is quarantined with the reason.</summary>
    Reject,

    /// <summary>The check could not be made (endpoint down, timeout); ask again on the target's retry schedule.</summary>
    Unavailable,
}

/// <summary>A deferred check's answer. Pass and Reject are final for the event and recorded once; Unavailable is not recorded.</summary>
internal readonly record struct DeferredVerdict(DeferredOutcome Outcome, string? Reason)
{
    public static DeferredVerdict Pass { get; } = new(DeferredOutcome.Pass, null);

    public static DeferredVerdict Reject(string reason) => new(DeferredOutcome.Reject, reason);

    public static DeferredVerdict Unavailable(string reason) => new(DeferredOutcome.Unavailable, reason);

    /// <summary>True when the verdict is final and is kept with the event.</summary>
    public bool IsFinal => Outcome != DeferredOutcome.Unavailable;
}

/// <summary>The stored vendor request a deferred check judges, exactly as it was received.</summary>
internal sealed record DeferredRequest(string Method, string QueryString, string? ContentType, byte[] Body);

/// <summary>
/// A verification that runs after the vendor has been acked and before an event's first delivery, for checks too slow
/// to make inside the vendor's timeout (e.g. asking the vendor's API whether a token is genuine). A source kind
/// provides it; the dispatcher asks once per event, whatever the number of targets, and the store keeps the answer.
/// </summary>
internal interface IDeferredCheck
{
    /// <summary>Judges one event; bounds its own time and never throws for an unreachable endpoint.</summary>
    Task<DeferredVerdict> CheckAsync(DeferredRequest request, CancellationToken cancellationToken);
}
