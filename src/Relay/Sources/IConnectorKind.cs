using Relay.Configuration;

namespace Relay.Sources;

/// <summary>
/// A vendor kind whose events Relay fetches itself over an outbound connection (a stream), instead of receiving
/// them on a path. Such a source has no <c>path:</c>; its kind reads the connection settings instead.
/// </summary>
internal interface IConnectorKind
{
    /// <summary>The <c>kind:</c> word in relay.yaml.</summary>
    string Name { get; }

    /// <summary>
    /// Reads the kind's connection settings, recording problems on <paramref name="settings"/>.
    /// Returns null when they are unusable; the problems recorded say why.
    /// </summary>
    IConnectorSettings? Create(SourceConfig source, ConfigReader settings);
}

/// <summary>
/// A connector's settings. Implementations are records: value equality tells a reload that changed them
/// (restart the connector) from one that did not (keep the connection).
/// </summary>
internal interface IConnectorSettings;

/// <summary>The <c>kind:</c> words of connector sources, and the kind behind each.</summary>
internal static class ConnectorKinds
{
    public static IReadOnlyDictionary<string, IConnectorKind> All { get; } =
        new IConnectorKind[]
        {
            new Sovos.SovosSseKind(),
        }.ToDictionary(k => k.Name, StringComparer.Ordinal);
}
