namespace Relay.Store;

/// <summary>
/// A place in a newest-first listing: entries are ordered by time (newest first), then by id (highest first),
/// which is also the order Redis returns members of equal score in a reverse range.
/// </summary>
internal readonly record struct IndexPosition(long At, string Id) : IComparable<IndexPosition>
{
    /// <summary>Positive when this entry is newer (comes earlier in the listing) than <paramref name="other"/>.</summary>
    public int CompareTo(IndexPosition other)
    {
        var byTime = At.CompareTo(other.At);
        return byTime != 0 ? byTime : string.CompareOrdinal(Id, other.Id);
    }
}

/// <summary>What an operator searches events by; every filter is optional and they all apply together.</summary>
/// <param name="TypeGlob">Event type, with <c>*</c> matching any run of characters.</param>
/// <param name="State">With <paramref name="Target"/>: that target's state; without: any target's.</param>
/// <param name="Target">Events routed to this target.</param>
/// <param name="From">Received at or after.</param>
/// <param name="To">Received before.</param>
/// <param name="Id">An event id (the <c>webhook-id</c> targets get), or a vendor's own id (the source's dedupe key).</param>
internal sealed record EventQuery(
    string? Source = null,
    string? TypeGlob = null,
    DeliveryState? State = null,
    string? Target = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    string? Id = null);

/// <summary>One page of a newest-first listing; <paramref name="Next"/> is where the following page starts, null at the end.</summary>
internal sealed record IndexPage<T>(IReadOnlyList<T> Items, IndexPosition? Next);

/// <summary>Where an event stands with one target.</summary>
internal enum DeliveryState
{
    Pending,
    InFlight,
    Delivered,
    Retrying,
    Dead,

    /// <summary>Dead-lettered because the source's deferred check rejected the event.</summary>
    Quarantined,

    /// <summary>Was dead-lettered (or quarantined), and the dead letters were purged since.</summary>
    Purged,
}

/// <summary>The names the admin API shows for <see cref="DeliveryState"/>; the stored ones are the store's own words.</summary>
internal static class DeliveryStateNames
{
    /// <summary>The state named <paramref name="name"/> (as <see cref="Name"/> writes it), if any.</summary>
    public static bool TryParse(string name, out DeliveryState state)
    {
        foreach (var candidate in Enum.GetValues<DeliveryState>())
        {
            if (candidate.Name() == name)
            {
                state = candidate;
                return true;
            }
        }

        state = default;
        return false;
    }

    public static string Name(this DeliveryState state) => state switch
    {
        DeliveryState.Pending => StoreWords.Pending,
        DeliveryState.InFlight => "in-flight",
        DeliveryState.Delivered => StoreWords.Delivered,
        DeliveryState.Retrying => StoreWords.Retrying,
        DeliveryState.Dead => StoreWords.Dead,
        DeliveryState.Quarantined => StoreWords.Quarantined,
        DeliveryState.Purged => StoreWords.Purged,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };
}

/// <param name="At">When it was delivered or dead-lettered.</param>
/// <param name="Reason">Why the last attempt failed (retrying, dead).</param>
internal sealed record TargetDelivery(string Target, DeliveryState State, int Attempts, DateTimeOffset? NextAttemptAt, DateTimeOffset? At, string? Reason);

internal sealed record EventSummary(string Id, string Source, string Type, DateTimeOffset ReceivedAt, IReadOnlyList<TargetDelivery> Targets);

internal sealed record EventDetail(
    string Id,
    string Source,
    string Type,
    IReadOnlyList<string> Tags,
    DateTimeOffset ReceivedAt,
    string Method,
    string QueryString,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body,
    IReadOnlyList<TargetDelivery> Targets,
    IReadOnlyList<AttemptRecord> History,
    string? Routes);

/// <summary>A dead letter; the event fields are null when retention has already expired the event.</summary>
internal sealed record DeadLetter(string Id, DateTimeOffset DeadAt, string? Source, string? Type, DateTimeOffset? ReceivedAt, int Attempts, string? Reason);

/// <summary>What a replay by time range found and did.</summary>
/// <param name="Matched">Events routed to the target and received in the range.</param>
/// <param name="Queued">Of those, how many were queued (the others were waiting or being delivered already).</param>
internal readonly record struct RangeReplay(long Matched, long Queued);

/// <summary>What <c>requeue.lua</c> did with one event for one target (its return codes).</summary>
internal enum RequeueOutcome
{
    Expired = -1,
    NotDead = 0,
    Queued = 1,
    AlreadyQueued = 2,
    InFlight = 3,
}
