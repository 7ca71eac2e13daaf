using System.Diagnostics;
using System.Globalization;
using Relay.Tests.Infrastructure;

namespace Relay.Faults.Scenarios;

/// <summary>
/// <c>kill -9</c> of the relay under steady load, then a restart on the same data and port (embedded store, or Redis).
/// Requests in flight at the kill get no answer and are not acked; everything acked before the kill is delivered by
/// the restarted relay (events a dead worker had leased wait for the lease to expire, about 31 s).
/// </summary>
internal sealed class RelayKillScenario(bool redis) : IFaultScenario
{
    public string Name => redis ? "relay-kill-redis" : "relay-kill-embedded";

    public bool NeedsRedis => redis;

    public async Task RunAsync(FaultSettings settings, Verdict verdict)
    {
        await using var rig = await Rig.StartAsync(settings, Name, "crm", "archive");

        // Each delivery takes 50 ms, so the relay always has deliveries in flight (leased) when it is killed.
        rig.AnswerAfter(TimeSpan.FromMilliseconds(50));
        var store = redis ? Rig.RedisStore((await rig.StartRedisAsync("redis")).Address) : rig.EmbeddedStore();
        var config = rig.WriteConfig(store);
        var port = LoopbackServer.FreePort();
        var relay = await rig.StartRelayAsync(config, port: port);
        var destination = new Destination("relay", relay.Url);
        using var vendor = new Vendor(rig.Ledger, Name);
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"steady load: {settings.Rate:0} events/s for {settings.Load.TotalSeconds:0} s to {relay.Url}"));
        var load = vendor.RunAsync(settings.Rate, settings.Load, () => destination);

        await Task.Delay(settings.Load * 0.35);
        var acked = rig.Ledger.Acked;
        relay.KillHard();
        var killedAt = Stopwatch.GetTimestamp();
        rig.Say($"relay killed with SIGKILL; {acked} events acked so far");
        await rig.StartRelayAsync(config, port: port);
        var restartedAt = Stopwatch.GetTimestamp();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"relay restarted on the same data, ready {Stopwatch.GetElapsedTime(killedAt, restartedAt).TotalSeconds:0.0} s after the kill"));

        var stats = await load;
        rig.Say("load: " + stats.Line());
        var drained = await rig.DrainAsync(relay.Url);
        var ledger = rig.Ledger.Close();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"drained {drained.TotalSeconds:0.0} s after the load; ledger: {ledger.Line()}"));

        verdict.RequireBalanced(ledger);
        verdict.Require(rig.Ledger.AckedBetween(restartedAt, long.MaxValue) > 0, "nothing was acked after the restart");
        var firstAck = rig.Ledger.FirstAckAfter(killedAt);
        verdict.Report(string.Create(
            CultureInfo.InvariantCulture,
            $"acked {ledger.Acked} of {ledger.Sent}; unanswered while down {ledger.NoAnswer}; first ack {(firstAck is { } f ? Stopwatch.GetElapsedTime(killedAt, f).TotalSeconds : double.NaN):0.0} s after the kill; "
            + $"{rig.Ledger.DeliveryDelays("crm").Count(d => d > 20)} events first reached crm more than 20 s after their ack (held by the dead relay's leases until they expired); "
            + $"redelivered {ledger.Redelivered}; acked events all delivered {drained.TotalSeconds:0.0} s after the load"));
    }
}
