namespace Relay.Sources;

/// <summary>
/// The <c>kind:</c> words relay.yaml may use, and the kind behind each: webhook kinds, received on a path, and
/// connector kinds, fetched over an outbound stream. Configuration loading is handed this registry, so it never names
/// a vendor itself.
/// </summary>
internal sealed class SourceKinds
{
    public SourceKinds(IEnumerable<ISourceKind> webhooks, IEnumerable<IConnectorKind> connectors)
    {
        Webhooks = webhooks.ToDictionary(k => k.Name, StringComparer.Ordinal);
        Connectors = connectors.ToDictionary(k => k.Name, StringComparer.Ordinal);
    }

    /// <summary>Every kind Relay ships with.</summary>
    public static SourceKinds BuiltIn { get; } = new(
        [
            new YousignKind(),
            new StandardWebhooksKind(),
            new HmacKind(),
            new SignicatKind(),
            new AlphaTrust.AlphaTrustKind(),
            new LegalesignKind(),
        ],
        [
            new Sovos.SovosSseKind(),
        ]);

    public IReadOnlyDictionary<string, ISourceKind> Webhooks { get; }

    public IReadOnlyDictionary<string, IConnectorKind> Connectors { get; }

    /// <summary>Every kind word, webhook kinds first, for "choose one of" messages.</summary>
    public IEnumerable<string> Names => Webhooks.Keys.Concat(Connectors.Keys);
}
