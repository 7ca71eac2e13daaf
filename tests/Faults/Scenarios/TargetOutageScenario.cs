using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Relay.Faults.Scenarios;

/// <summary>
/// One target (<c>archive</c>) answers 503, then hangs (never answers; the relay's 1 s timeout cuts each attempt),
/// then recovers, while the other (<c>crm</c>) stays healthy. <c>crm</c> must keep up the whole time: when
/// <c>archive</c> recovers, every event acked more than 2 s earlier has already reached <c>crm</c>. Afterwards
/// <c>archive</c> receives everything too.
/// </summary>
internal sealed class TargetOutageScenario : IFaultScenario
{
    private const int Healthy = 0;
    private const int Refusing = 1;
    private const int Hanging = 2;

    public string Name => "target-outage";

    public bool NeedsRedis => false;

    public async Task RunAsync(FaultSettings settings, Verdict verdict)
    {
        await using var rig = await Rig.StartAsync(settings, Name, "crm", "archive");
        var phase = Healthy;
        rig.Target("archive").Respond = async (context, _) =>
        {
            switch (Volatile.Read(ref phase))
            {
                case Refusing:
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    return;
                case Hanging:
                    // Throws when the relay gives up on the attempt: no answer, and no arrival booked.
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    return;
                default:
                    context.Response.StatusCode = StatusCodes.Status200OK;
                    return;
            }
        };
        var relay = await rig.StartRelayAsync(rig.WriteConfig(rig.EmbeddedStore()));
        var destination = new Destination("relay", relay.Url);
        using var vendor = new Vendor(rig.Ledger, Name);
        var load = settings.Load * 1.5;
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"steady load: {settings.Rate:0} events/s for {load.TotalSeconds:0} s"));
        var sending = vendor.RunAsync(settings.Rate, load, () => destination);

        var step = settings.Load / 3;
        await Task.Delay(step / 2);
        var badFrom = Stopwatch.GetTimestamp();
        Volatile.Write(ref phase, Refusing);
        rig.Say("archive answers 503");
        await Task.Delay(step);
        Volatile.Write(ref phase, Hanging);
        rig.Say("archive hangs (accepts the request, never answers)");
        await Task.Delay(step);
        var badUntil = Stopwatch.GetTimestamp();

        // Before archive recovers: crm must hold everything acked up to 2 s ago.
        var missingAtCrm = rig.Ledger.MissingAt("crm", badUntil - (2 * Stopwatch.Frequency));
        var missingAtArchive = rig.Ledger.MissingAt("archive", badUntil - (2 * Stopwatch.Frequency));
        Volatile.Write(ref phase, Healthy);
        rig.Say($"archive recovers; at that moment, of the events acked until 2 s before, crm misses {missingAtCrm}, archive misses {missingAtArchive}");

        var stats = await sending;
        rig.Say("load: " + stats.Line());
        var drained = await rig.DrainAsync(relay.Url);
        var ledger = rig.Ledger.Close();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"drained {drained.TotalSeconds:0.0} s after the load; ledger: {ledger.Line()}"));

        verdict.RequireBalanced(ledger);
        verdict.Require(missingAtCrm == 0, $"crm was held up by archive: {missingAtCrm} events acked over 2 s before archive recovered had not reached crm");
        verdict.Require(missingAtArchive > 0, "archive's outage did not hold anything back (the fault was not injected?)");
        var crmDelays = rig.Ledger.DeliveryDelays("crm", badFrom, badUntil).Order().ToArray();
        var archiveDelays = rig.Ledger.DeliveryDelays("archive", badFrom, badUntil).Order().ToArray();
        verdict.Report(string.Create(
            CultureInfo.InvariantCulture,
            $"events acked during archive's outage: crm got them after p50 {Percentile(crmDelays, 50):0.000} s, p99 {Percentile(crmDelays, 99):0.000} s, max {Percentile(crmDelays, 100):0.000} s; "
            + $"archive after p50 {Percentile(archiveDelays, 50):0.0} s, max {Percentile(archiveDelays, 100):0.0} s; redelivered {ledger.Redelivered}; all delivered {drained.TotalSeconds:0.0} s after the load"));
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
