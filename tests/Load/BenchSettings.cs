namespace Relay.Load;

/// <summary>How long and how hard the benchmark runs; <see cref="Smoke"/> is the short version CI runs.</summary>
internal sealed record BenchSettings(
    bool Smoke,
    TimeSpan Duration,
    TimeSpan Warmup,
    TimeSpan Outage,
    int Connections,
    IReadOnlyList<string> Stores,
    IReadOnlySet<string> Scenarios,
    string ResultsFolder,
    string RelayDll)
{
    public const string Garnet = "garnet";
    public const string Redis = "redis";

    /// <summary>Fraction of the relay's maximum ingest rate used by every scenario after ingest.</summary>
    public const double HalfOfMax = 0.5;

    /// <summary>
    /// How long end-to-end's half-of-max step runs in a full run, whatever <see cref="Duration"/> says: its delivery
    /// latency p99 and peak memory are targets, and they should cover a minute of steady fan-out, not the few seconds
    /// that suffice to measure a throughput.
    /// </summary>
    public static readonly TimeSpan DeliveryLatencyStep = TimeSpan.FromSeconds(60);

    public string Mode => Smoke ? "smoke" : "full";

    /// <summary>End-to-end's half-of-max step: <see cref="DeliveryLatencyStep"/> in a full run; a smoke run keeps it short.</summary>
    public TimeSpan HalfOfMaxEndToEndDuration => Smoke ? Duration : DeliveryLatencyStep;

    /// <summary>Upper bound on waiting, after the load stops, for every acked event to reach every sink.</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A drain that has seen no delivery for this long has stalled: longer than the relay's longest quiet spell while
    /// recovering (a 15 s circuit break plus a 10 s retry step).
    /// </summary>
    public static readonly TimeSpan DrainStall = TimeSpan.FromSeconds(45);
}
