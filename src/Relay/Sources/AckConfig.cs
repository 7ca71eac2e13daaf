namespace Relay.Sources;

/// <summary>
/// The exact reply a vendor needs before it stops retrying: a kind states its vendor's default, and a source may
/// override it under <c>ack:</c>.
/// </summary>
internal sealed record AckConfig(int Status, string? ContentType, string Body);
