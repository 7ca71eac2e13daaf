using Relay.Verification;

namespace Relay.Sources;

/// <summary>
/// One vendor kind whose callbacks arrive on a path: how to read its requests, prove they are genuine, split them into
/// events, and what to ack. A kind is stateless; <see cref="Create"/> binds it to one configured source.
/// </summary>
internal interface ISourceKind
{
    /// <summary>The <c>kind:</c> word in relay.yaml.</summary>
    string Name { get; }

    /// <summary>The ack the vendor needs when the source's config names none.</summary>
    AckConfig DefaultAck { get; }

    /// <summary>The dedupe window when the source's config names none; null means <c>store.dedupeWindow</c>.</summary>
    TimeSpan? DefaultDedupeWindow => null;

    /// <summary>
    /// Reads the kind's own settings (secret, header names...), recording problems on <paramref name="settings"/>.
    /// Returns null when they are unusable; the problems recorded say why.
    /// </summary>
    /// <param name="path">The source's <c>path:</c>, which some kinds check (a path token).</param>
    ISourceHandler? Create(string path, IKindSettings settings);
}

/// <summary>A configured source, ready to judge requests. Called concurrently; must be immutable.</summary>
internal interface ISourceHandler
{
    /// <summary>HTTP methods the vendor uses; any other gets 405.</summary>
    IReadOnlyList<string> Methods { get; }

    SourceVerdict Read(IngressRequest request);

    /// <summary>A verification made after the ack and before an event's first delivery; null when the source has none.</summary>
    IDeferredCheck? DeferredCheck => null;
}
