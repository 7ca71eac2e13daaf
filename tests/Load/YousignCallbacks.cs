using System.Globalization;
using Relay.Tests.Infrastructure;

namespace Relay.Load;

/// <summary>
/// Builds the load: Yousign callbacks signed exactly as Yousign signs them (the test suite's signing code, shared),
/// each with a unique <c>event_id</c> and by default its own signature request (so events spread over the store's
/// partitions), and the event number in <see cref="EventHeader"/> so sinks can tell which event arrived.
/// </summary>
internal sealed class YousignCallbacks(string runId)
{
    /// <summary>Number of the load event, carried in a vendor header the relay replays unchanged.</summary>
    public const string EventHeader = "X-Load-Event";

    public const string Path = "/hooks/yousign";
    public const string Secret = "load-yousign-secret";

    /// <summary>Routed to every sink by the generated relay.yaml.</summary>
    public const string RoutedEvent = "signature_request.done";

    /// <summary>Matches no route: stored and acked, delivered nowhere (warm-up, baselines, and the conditions scenario's routes).</summary>
    public const string UnroutedEvent = "document.load_ingest";

    /// <param name="signatureRequest">
    /// The event's <c>data.signature_request.id</c>, Yousign's ordering key; by default one of its own (<c>sr-</c> and
    /// the event number).
    /// </param>
    public HttpRequestMessage Create(long eventNumber, string eventName, string? signatureRequest = null)
    {
        var number = eventNumber.ToString(CultureInfo.InvariantCulture);
        var body = Signing.YousignEvent($"{runId}-{number}", eventName, signatureRequest ?? "sr-" + number);
        var request = Signing.YousignRequest(Path, Secret, body);
        request.Headers.TryAddWithoutValidation(EventHeader, number);
        return request;
    }
}
