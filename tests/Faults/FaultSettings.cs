namespace Relay.Faults;

/// <summary>How one run of the fault suite goes.</summary>
/// <param name="Ci">Short phases (what CI runs); the checks are the same.</param>
/// <param name="Rate">Events per second the vendor sends in every scenario.</param>
/// <param name="Load">How long the steady load of a scenario lasts; faults are injected at fixed fractions of it.</param>
/// <param name="Work">Folder holding one subfolder per scenario (configs, data, every process's log).</param>
/// <param name="Keep">Keep the subfolders of passed scenarios too.</param>
internal sealed record FaultSettings(bool Ci, double Rate, TimeSpan Load, IReadOnlySet<string> Scenarios, string RelayDll, string Work, bool Keep)
{
    /// <summary>Longest wait for acked events to reach the targets after the load (a killed relay's leases take 31 s to expire).</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(120);

    /// <summary>A drain gives up early when nothing has arrived for this long.</summary>
    public static readonly TimeSpan DrainStall = TimeSpan.FromSeconds(45);
}
