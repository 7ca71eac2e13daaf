namespace Relay.Sources;

/// <summary>The <c>kind:</c> words relay.yaml may use, and the kind behind each.</summary>
internal static class SourceKinds
{
    public static IReadOnlyDictionary<string, ISourceKind> All { get; } =
        new ISourceKind[]
        {
            new YousignKind(),
            new StandardWebhooksKind(),
            new HmacKind(),
            new SignicatKind(),
            new AlphaTrust.AlphaTrustKind(),
            new LegalesignKind(),
        }.ToDictionary(k => k.Name, StringComparer.Ordinal);
}
