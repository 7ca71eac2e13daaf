namespace Relay.Sources;

internal enum SourceOutcome
{
    Accepted,
    Unauthorized,
    BadRequest,
    UnsupportedMediaType,
}

/// <summary>One event carried by a request. A batch request (Legalesign Option 1) yields several.</summary>
/// <param name="DedupeKey">Same key inside the source's dedupe window = vendor retry, dropped.</param>
/// <param name="OrderingKey">Events with one ordering key (e.g. an envelope id) share a store partition.</param>
/// <param name="Body">This event's own body when a batch is split; null means the request body.</param>
/// <param name="Routed">False to keep and ack the event without sending it anywhere (e.g. it expired before it arrived).</param>
/// <param name="Content">
/// This event's own JSON, which a route's <c>when</c> reads as <c>body</c>, when the body does not show it plainly: a
/// Legalesign change (delivered inside a one-item form) or an upon-event hook's signed JSON (its other form fields are
/// unsigned). Null: conditions read the body as delivered.
/// </param>
internal sealed record IncomingEvent(
    string DedupeKey,
    string Type,
    IReadOnlyList<string> Tags,
    string OrderingKey,
    byte[]? Body = null,
    bool Routed = true,
    byte[]? Content = null);

/// <summary>What a source kind decided about a request. Expected rejections are values, not exceptions.</summary>
internal sealed record SourceVerdict(SourceOutcome Outcome, string? Reason, IReadOnlyList<IncomingEvent> Events)
{
    public static SourceVerdict Accept(params IncomingEvent[] events) => new(SourceOutcome.Accepted, null, events);

    public static SourceVerdict Unauthorized(string reason) => new(SourceOutcome.Unauthorized, reason, []);

    public static SourceVerdict BadRequest(string reason) => new(SourceOutcome.BadRequest, reason, []);

    public static SourceVerdict UnsupportedMediaType(string reason) => new(SourceOutcome.UnsupportedMediaType, reason, []);
}
