namespace Relay.Store;

/// <summary>
/// The words the store keeps as values, and the field names of an event's hash, which both C# and the Lua scripts write
/// and compare. They are defined here once; a test reads every script and fails on a quoted word that is not listed in
/// <see cref="All"/>, so a script can never record a state the C# side does not know.
/// </summary>
internal static class StoreWords
{
    /// <summary>Queued for the target, not delivered yet (also after a replay or redrive).</summary>
    public const string Pending = "pending";

    public const string Delivered = "delivered";

    /// <summary>Failed, with a retry due at <c>{target}.next</c>.</summary>
    public const string Retrying = "retrying";

    /// <summary>Dead-lettered: retries exhausted, or rejected by the target.</summary>
    public const string Dead = "dead";

    /// <summary>
    /// Dead-lettered because the source's deferred check rejected the event: it goes to no target. Also the check's
    /// verdict word.
    /// </summary>
    public const string Quarantined = "quarantined";

    /// <summary>Was dead-lettered (or quarantined), and the dead letter was purged: the target owes it nothing any more.</summary>
    public const string Purged = "purged";

    /// <summary>A deferred check found the event genuine.</summary>
    public const string CheckPassed = "pass";

    /// <summary><c>requeue.lua</c> scope: only an event in the target's dead letters moves (redrive).</summary>
    public const string RequeueDeadOnly = "dead";

    /// <summary><c>requeue.lua</c> scope: the event moves whatever its state (replay).</summary>
    public const string RequeueAny = "any";

    /// <summary><c>fail.lua</c>: a dead letter holds its ordering key until redriven or purged (onDeadLetter: block).</summary>
    public const string BlockKey = "block";

    /// <summary>Hash field suffixes of a target's delivery, after the target id: <c>crm.state</c>, <c>crm.attempts</c>...</summary>
    public const string StateSuffix = ".state";
    public const string AttemptsSuffix = ".attempts";
    public const string NextSuffix = ".next";
    public const string AtSuffix = ".at";
    public const string ReasonSuffix = ".reason";

    /// <summary>Hash fields of a deferred check's verdict.</summary>
    public const string CheckField = "check";
    public const string CheckReasonField = "check.reason";

    /// <summary>Between the event id and the time it became ready, in a ready list's entries (see <see cref="ReadyEntry"/>).</summary>
    public const string ReadySeparator = "|";

    /// <summary>Hash field listing the event's targets, joined by <see cref="TargetsSeparator"/>.</summary>
    public const string TargetsField = "targets";

    public const string TargetsSeparator = ",";

    /// <summary>Hash field of the event's ordering key, which places its dedupe key when the partition count changes.</summary>
    public const string OrderingField = "ordering";

    /// <summary>Hash field of the event's received-at ms, which the scripts read to index it.</summary>
    public const string ReceivedAtField = "receivedAt";

    /// <summary>The states a target's event can be recorded in, in the order of its state indexes (lib.lua's STATES).</summary>
    public static IReadOnlyList<string> States { get; } = [Pending, Delivered, Retrying, Dead, Quarantined];

    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        Pending, Delivered, Retrying, Dead, Quarantined, Purged, CheckPassed, RequeueDeadOnly, RequeueAny, BlockKey,
        StateSuffix, AttemptsSuffix, NextSuffix, AtSuffix, ReasonSuffix, CheckField, CheckReasonField, ReceivedAtField, ReadySeparator, TargetsField, TargetsSeparator,
    };

    public static string State(string target) => target + StateSuffix;

    public static string Attempts(string target) => target + AttemptsSuffix;

    public static string Next(string target) => target + NextSuffix;

    public static string At(string target) => target + AtSuffix;

    public static string Reason(string target) => target + ReasonSuffix;
}
