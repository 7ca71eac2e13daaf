namespace Relay.Sources;

internal enum GateOutcome
{
    /// <summary>The event may be delivered.</summary>
    Pass,

    /// <summary>The event must not be delivered to any target: it is quarantined with the reason.</summary>
    Reject,

    /// <summary>The check could not be made (endpoint down, timeout); try again on the target's retry schedule.</summary>
    Unavailable,
}

/// <summary>A gate's answer. Pass and Reject are final for the event and recorded once; Unavailable is not recorded.</summary>
internal readonly record struct GateVerdict(GateOutcome Outcome, string? Reason)
{
    public static GateVerdict Pass { get; } = new(GateOutcome.Pass, null);

    public static GateVerdict Reject(string reason) => new(GateOutcome.Reject, reason);

    public static GateVerdict Unavailable(string reason) => new(GateOutcome.Unavailable, reason);
}

/// <summary>The stored vendor request a gate judges, exactly as it was received.</summary>
internal sealed record GatedRequest(string Method, string QueryString, string? ContentType, byte[] Body);

/// <summary>
/// A source-owned check that runs after the vendor has been acked and before an event's first delivery, for checks too
/// slow to make inside the vendor's timeout (e.g. asking the vendor's API whether a token is genuine).
/// The dispatcher asks once per event, whatever the number of targets, and keeps the answer with the event.
/// </summary>
internal interface IDeliveryGate
{
    Task<GateVerdict> CheckAsync(GatedRequest request, CancellationToken cancellationToken);
}
