using System.Collections.Concurrent;
using Relay.Configuration;
using Relay.Sources;
using Relay.Store;

namespace Relay.Dispatch;

/// <summary>
/// Consults a source's <see cref="IDeliveryGate"/> before an event is delivered. The verdict is asked once per event
/// (targets of one replica share the call in flight) and kept in the event's hash as <c>gate</c>, so other targets,
/// later attempts and other replicas reuse it instead of calling the gate again.
/// </summary>
internal sealed partial class DeliveryGates(RelayConfigProvider configProvider, StoreConnection connection, ILogger<DeliveryGates> logger)
{
    private const string GateField = "gate";
    private const string PassVerdict = "pass";
    private const string QuarantinedPrefix = "quarantined: ";

    private readonly ConcurrentDictionary<string, Lazy<Task<GateVerdict>>> _checking = new(StringComparer.Ordinal);

    /// <summary>Null when the event may be sent; otherwise the result to settle instead of sending it.</summary>
    public async Task<DeliveryResult?> CheckAsync(ClaimedEvent claimed)
    {
        var gate = configProvider.Current.Sources.FirstOrDefault(s => s.Config.Id == claimed.Source)?.Handler.Gate;
        if (gate is null)
        {
            return null;
        }

        // Targets of this replica asking at once share one check; one that comes after it finished reads its record.
        var check = _checking.GetOrAdd(claimed.Id, _ => new Lazy<Task<GateVerdict>>(() => ReadOrAskAsync(gate, claimed)));
        GateVerdict verdict;
        try
        {
            verdict = await check.Value.ConfigureAwait(false);
        }
        finally
        {
            _checking.TryRemove(new(claimed.Id, check));
        }

        return verdict.Outcome switch
        {
            GateOutcome.Pass => null,
            GateOutcome.Reject => new DeliveryResult(DeliveryOutcome.Quarantined, null, null, QuarantinedPrefix + verdict.Reason, TimeSpan.Zero),
            _ => new DeliveryResult(DeliveryOutcome.Retry, null, null, $"delivery gate: {verdict.Reason}", TimeSpan.Zero),
        };
    }

    /// <summary>The verdict recorded with the event; else asks the gate, and records a final answer (the first one recorded wins).</summary>
    private async Task<GateVerdict> ReadOrAskAsync(IDeliveryGate gate, ClaimedEvent claimed)
    {
        var key = connection.Keys.Event(claimed.Partition, claimed.Id);
        var recorded = await connection.Database.HashGetAsync(key, GateField).ConfigureAwait(false);
        if (!recorded.IsNull)
        {
            return Parse(recorded!);
        }

        // Not tied to one target's shutdown: other targets may be waiting on this answer; the gate bounds its own time.
        var answer = await gate.CheckAsync(new GatedRequest(claimed.Method, claimed.QueryString, claimed.ContentType, claimed.Body), CancellationToken.None).ConfigureAwait(false);
        switch (answer.Outcome)
        {
            case GateOutcome.Unavailable:
                Log.GateUnavailable(logger, claimed.Source, claimed.Id, answer.Reason!);
                return answer;
            case GateOutcome.Reject:
                Log.Quarantined(logger, claimed.Source, claimed.Id, answer.Reason!);
                break;
        }

        var text = answer.Outcome == GateOutcome.Pass ? PassVerdict : QuarantinedPrefix + answer.Reason;
        var inForce = await connection.Database.ScriptEvaluateAsync(StoreScripts.Gate, [key], [text]).ConfigureAwait(false);

        // Null: retention expired the event meanwhile; the answer just given is all there is.
        return inForce.IsNull ? answer : Parse((string)inForce!);
    }

    private static GateVerdict Parse(string recorded) =>
        recorded.StartsWith(QuarantinedPrefix, StringComparison.Ordinal) ? GateVerdict.Reject(recorded[QuarantinedPrefix.Length..]) : GateVerdict.Pass;

    private static partial class Log
    {
        [LoggerMessage(3201, LogLevel.Warning, "Source {Source}: {EventId} quarantined by its delivery gate: {Reason}.")]
        public static partial void Quarantined(ILogger logger, string source, string eventId, string reason);

        [LoggerMessage(3202, LogLevel.Warning, "Source {Source}: delivery gate could not check {EventId} ({Reason}); the delivery will be retried.")]
        public static partial void GateUnavailable(ILogger logger, string source, string eventId, string reason);
    }
}
