namespace Relay.Load.Search;

/// <summary>How big the seeded store is and how hard the search benchmark measures it.</summary>
/// <param name="Events">Events seeded per store variant.</param>
/// <param name="Samples">Timed requests per query (after a warm-up); the deep page times this many pages in chains of <see cref="DeepPages"/>.</param>
/// <param name="Connections">Concurrent connections seeding the store (closed model).</param>
/// <param name="EmbeddedMemory"><c>store.embedded.memory</c> of the embedded variant; null keeps the relay's default.</param>
internal sealed record SearchSettings(
    long Events,
    IReadOnlyList<string> Stores,
    int Samples,
    int Connections,
    string ResultsFolder,
    string RelayDll,
    string? EmbeddedMemory)
{
    /// <summary>Page size of every timed query.</summary>
    public const int PageSize = 50;

    /// <summary>Pages followed with <c>next</c> from the newest page, each timed.</summary>
    public const int DeepPages = 10;

    /// <summary>Untimed requests per query before its samples: JIT, connection, the store's hot pages.</summary>
    public const int WarmupRequests = 20;

    /// <summary>Width of the random received-at windows.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>Upper bound on waiting for the reject target to dead-letter everything routed to it.</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromMinutes(15);
}
