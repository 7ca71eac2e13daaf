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

    /// <summary>Dead-lettered: retries exhausted, rejected by the target, or quarantined by a deferred check.</summary>
    public const string Dead = "dead";

    /// <summary>A deferred check found the event genuine.</summary>
    public const string CheckPassed = "pass";

    /// <summary>A deferred check rejected the event: it goes to no target.</summary>
    public const string CheckQuarantined = "quarantined";

    /// <summary><c>requeue.lua</c> scope: only an event in the target's dead letters moves (redrive).</summary>
    public const string RequeueDeadOnly = "dead";

    /// <summary><c>requeue.lua</c> scope: the event moves whatever its state (replay).</summary>
    public const string RequeueAny = "any";

    /// <summary>Hash field suffixes of a target's delivery, after the target id: <c>crm.state</c>, <c>crm.attempts</c>...</summary>
    public const string StateSuffix = ".state";
    public const string AttemptsSuffix = ".attempts";
    public const string NextSuffix = ".next";
    public const string AtSuffix = ".at";
    public const string ReasonSuffix = ".reason";

    /// <summary>Hash fields of a deferred check's verdict.</summary>
    public const string CheckField = "check";
    public const string CheckReasonField = "check.reason";

    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        Pending, Delivered, Retrying, Dead, CheckPassed, CheckQuarantined, RequeueDeadOnly, RequeueAny,
        StateSuffix, AttemptsSuffix, NextSuffix, AtSuffix, ReasonSuffix, CheckField, CheckReasonField,
    };

    public static string State(string target) => target + StateSuffix;

    public static string Attempts(string target) => target + AttemptsSuffix;

    public static string Next(string target) => target + NextSuffix;

    public static string At(string target) => target + AtSuffix;

    public static string Reason(string target) => target + ReasonSuffix;
}
