using System.Globalization;

namespace Relay.Faults.Scenarios;

/// <summary>
/// Two relays on one Redis share the load; one is killed for good (<c>kill -9</c>) and the load goes on to the other,
/// as a load balancer would send it. The survivor delivers everything either relay acked, including what the dead one
/// had claimed (its leases expire after the target timeout plus 30 s, and the survivor's scheduler reclaims them).
/// </summary>
internal sealed class TwoRelaysScenario : IFaultScenario
{
    public string Name => "two-relays";

    public bool NeedsRedis => true;

    public async Task RunAsync(FaultSettings settings, Verdict verdict)
    {
        await using var rig = await Rig.StartAsync(settings, Name, "crm", "archive");

        // Each delivery takes 50 ms, so the relay always has deliveries in flight (leased) when it is killed.
        rig.AnswerAfter(TimeSpan.FromMilliseconds(50));
        var redis = await rig.StartRedisAsync("redis");
        var config = rig.WriteConfig(Rig.RedisStore(redis.Address));
        var survivor = await rig.StartRelayAsync(config, "relay-a");
        var doomed = await rig.StartRelayAsync(config, "relay-b");
        var a = new Destination("relay-a", survivor.Url);
        var b = new Destination("relay-b", doomed.Url);
        var bAlive = 1;
        long turn = 0;
        using var vendor = new Vendor(rig.Ledger, Name);
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"steady load: {settings.Rate:0} events/s for {settings.Load.TotalSeconds:0} s, alternating between relay-a and relay-b"));
        var load = vendor.RunAsync(settings.Rate, settings.Load, () =>
            Volatile.Read(ref bAlive) == 1 && Interlocked.Increment(ref turn) % 2 == 0 ? b : a);

        await Task.Delay(settings.Load * 0.35);
        doomed.KillHard();
        Volatile.Write(ref bAlive, 0);
        rig.Say($"relay-b killed for good; {rig.Ledger.AckedVia("relay-b")} events acked by it; the load goes on to relay-a");

        var stats = await load;
        rig.Say("load: " + stats.Line());
        var drained = await rig.DrainAsync(survivor.Url);
        var ledger = rig.Ledger.Close();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"drained {drained.TotalSeconds:0.0} s after the load; ledger: {ledger.Line()}"));

        verdict.RequireBalanced(ledger);
        verdict.Require(rig.Ledger.AckedVia("relay-b") > 0, "relay-b acked nothing before it was killed");
        var lateB = rig.Ledger.DeliveryDelays("crm").Count(d => d > 20);
        verdict.Report(string.Create(
            CultureInfo.InvariantCulture,
            $"acked by relay-a {rig.Ledger.AckedVia("relay-a")}, by relay-b {rig.Ledger.AckedVia("relay-b")}; unanswered {ledger.NoAnswer} (in flight at relay-b's death); "
            + $"{lateB} events first reached crm more than 20 s after their ack (held by relay-b's leases until they expired); redelivered {ledger.Redelivered}; all delivered {drained.TotalSeconds:0.0} s after the load"));
    }
}
