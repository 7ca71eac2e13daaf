using System.Diagnostics;
using Relay.Configuration;
using Relay.Dispatch;
using Relay.Sources;
using Relay.Store;

namespace Relay.Ingress;

/// <summary>The original request an event came in, as deliveries in raw mode replay it.</summary>
internal sealed record EventOrigin(
    string Method,
    string QueryString,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body);

/// <summary>What became of the events of one request (or one streamed message).</summary>
internal readonly record struct AcceptSummary(int Accepted, int Routed)
{
    /// <summary>The metric outcome: every event a duplicate, none routed to a target, or accepted.</summary>
    public string Outcome => Accepted == 0 ? "duplicate" : Routed == 0 ? "unrouted" : "accepted";
}

/// <summary>
/// The accept path shared by webhook ingress and outbound stream connectors: route each event, store it (one atomic
/// script per event, duplicates dropped), wake the targets that got work, then wait until the writes are durable.
/// Store failures surface as exceptions matched by <see cref="StoreFailures.IsStoreFailure"/>; nothing is acknowledged then.
/// </summary>
internal sealed class EventAcceptor(EventStore store, StoreConnection connection, DispatchSignals signals)
{
    public async Task<AcceptSummary> AcceptAsync(SourceConfig source, IReadOnlyList<IncomingEvent> events, EventOrigin origin, DateTimeOffset now)
    {
        var accepted = 0;
        var routed = 0;
        var partitions = connection.Config.Partitions;
        foreach (var incoming in events)
        {
            var targets = RouteTable.MatchTargets(source.Routes, incoming);
            var partition = EventIds.PartitionOf(incoming.OrderingKey, partitions);
            var stored = new StoredEvent(
                EventIds.New(partition, now), partition, source.Id, incoming.Type, incoming.Tags, incoming.DedupeKey,
                origin.Method, origin.QueryString, origin.ContentType, origin.Headers, incoming.Body ?? origin.Body, now, Activity.Current?.Id);
            var result = await store.AcceptAsync(stored, source.DedupeWindow, targets).ConfigureAwait(false);
            Activity.Current?.AddEvent(new ActivityEvent(result.Outcome.ToString(), tags: new() { ["webhook.id"] = result.EventId }));
            if (result.Outcome == AcceptOutcome.Accepted)
            {
                accepted++;
                routed += targets.Count > 0 ? 1 : 0;
                foreach (var target in targets)
                {
                    signals.Wake(target);
                }
            }
        }

        // An ack (or a stream's "handled") is the promise that the event is kept: wait for the store to make it durable.
        await connection.WaitDurableAsync().ConfigureAwait(false);
        return new AcceptSummary(accepted, routed);
    }
}
