using System.Globalization;
using Relay.Tests.Infrastructure;

namespace Relay.Load;

/// <summary>
/// Builds the load: Yousign callbacks signed exactly as Yousign signs them (the test suite's signing code, shared),
/// each with a unique <c>event_id</c> and its own signature request (so events spread over the store's partitions),
/// and the event number in <see cref="EventHeader"/> so sinks can tell which event arrived.
/// </summary>
internal sealed class YousignCallbacks(string runId)
{
    /// <summary>Number of the load event, carried in a vendor header the relay replays unchanged.</summary>
    public const string EventHeader = "X-Load-Event";

    public const string Path = "/hooks/yousign";
    public const string Secret = "load-yousign-secret";

    /// <summary>Routed to every sink by the generated relay.yaml.</summary>
    public const string RoutedEvent = "signature_request.done";

    /// <summary>Matches no route: stored and acked, delivered nowhere, so ingest is measured on its own.</summary>
    public const string UnroutedEvent = "document.load_ingest";

    public HttpRequestMessage Create(long eventNumber, string eventName)
    {
        var number = eventNumber.ToString(CultureInfo.InvariantCulture);
        var body = Signing.YousignEvent($"{runId}-{number}", eventName, "sr-" + number);
        var request = Signing.YousignRequest(Path, Secret, body);
        request.Headers.TryAddWithoutValidation(EventHeader, number);
        return request;
    }
}
