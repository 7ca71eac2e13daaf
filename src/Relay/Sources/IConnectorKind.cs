namespace Relay.Sources;

/// <summary>
/// A vendor kind whose events Relay fetches itself over an outbound connection (a stream), instead of receiving them on
/// a path. The kind says how to connect and how to read what arrives; the connector runtime does the rest (one
/// replica at a time, reconnects, storing each event).
/// </summary>
internal interface IConnectorKind
{
    /// <summary>The <c>kind:</c> word in relay.yaml.</summary>
    string Name { get; }

    /// <summary>
    /// Reads the kind's connection settings, recording problems on <paramref name="settings"/>.
    /// Returns null when they are unusable; the problems recorded say why.
    /// </summary>
    IConnectorSettings? Create(IKindSettings settings);
}

/// <summary>
/// A connector source's settings. Implementations are records: value equality tells a reload that changed them
/// (restart the connector) from one that did not (keep the connection). <c>ToString</c> must not show secrets.
/// </summary>
internal interface IConnectorSettings
{
    ConnectorTiming Timing { get; }

    /// <summary>The client that connects to the vendor; it lives as long as the connector (pooled connections, cached tokens).</summary>
    IConnectorClient CreateClient(TimeProvider time);
}

/// <param name="LeaseTtl">How long the replica holding the stream keeps it without renewing; a standby takes over after it.</param>
/// <param name="ReconnectInitialDelay">The first wait before reopening a failed stream; doubled per failure in a row.</param>
/// <param name="ReconnectMaxDelay">The cap of that wait.</param>
/// <param name="UnhealthyAfter">How long the lease holder may stay disconnected before readiness fails.</param>
internal sealed record ConnectorTiming(TimeSpan LeaseTtl, TimeSpan ReconnectInitialDelay, TimeSpan ReconnectMaxDelay, TimeSpan UnhealthyAfter);

/// <summary>One connector source's link to its vendor, reused across reconnects.</summary>
internal interface IConnectorClient : IDisposable
{
    /// <summary>Access tokens fetched so far, as the connector's state shows them; 0 for a kind that uses none.</summary>
    int TokensFetched { get; }

    /// <summary>
    /// Opens the stream and yields what arrives: first <see cref="ConnectorItemKind.Connected"/>, then events and skipped
    /// messages. Returns when the vendor ends the stream; throws when it fails or refuses (the message is safe to log
    /// once URL query strings are redacted).
    /// </summary>
    IAsyncEnumerable<ConnectorItem> ReadAsync(CancellationToken cancellationToken);
}

internal enum ConnectorItemKind
{
    /// <summary>The stream is open; <see cref="ConnectorItem.Detail"/> names its framing.</summary>
    Connected,

    /// <summary>One event; its body is <see cref="IncomingEvent.Body"/>.</summary>
    Event,

    /// <summary>A message that could not be read and was skipped; <see cref="ConnectorItem.Detail"/> says what it was.</summary>
    Skipped,
}

/// <param name="Detail">For an event, a short description for logs (no secrets); otherwise what happened.</param>
/// <param name="ContentType">The content type an event is stored and delivered with.</param>
internal readonly record struct ConnectorItem(ConnectorItemKind Kind, string Detail, IncomingEvent? Event = null, string? ContentType = null)
{
    public static ConnectorItem Connected(string framing) => new(ConnectorItemKind.Connected, framing);

    public static ConnectorItem Skipped(string what) => new(ConnectorItemKind.Skipped, what);

    public static ConnectorItem Received(IncomingEvent incoming, string contentType, string description) =>
        new(ConnectorItemKind.Event, description, incoming, contentType);
}

/// <summary>
/// The vendor refused the connection or the stream failed. The message is written to be logged and shown in the
/// connector's state: it never holds a secret or a token (URL query strings are redacted by whoever logs it).
/// </summary>
internal class ConnectorException(string message) : Exception(message);
