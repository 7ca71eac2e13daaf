using System.Diagnostics;
using System.Globalization;

namespace Relay.Faults.Scenarios;

/// <summary>
/// A Redis Cluster (3 masters, 3 replicas) on loopback; under steady load the replica of the master serving partition 0
/// falls behind (frozen, its replication link closed, for 1.5 s, as in a network partition), then that master is killed (<c>SIGKILL</c>, as a lost
/// machine) and the cluster fails over to the replica; later the dead node comes back and rejoins as a replica. With
/// <c>durability: replicas</c> nothing acked may be lost: an ack waited until the replica had the event (while it lagged,
/// acks for that master's keys were refused). With <c>durability: fsync</c> an ack only waited for the master's disk, so
/// what it acked while the replica lagged is missing from the promoted replica: losses are reported, not a failure.
/// </summary>
internal sealed class ClusterFailoverScenario(string durability) : IFaultScenario
{
    /// <summary>The hash tag of the relay's partition 0 (prefix <c>faults</c>): the victim is the master serving it.</summary>
    private const string VictimKey = "{faults:p0}";

    /// <summary>How long the victim's replica is frozen before the victim dies: the writes it misses.</summary>
    private static readonly TimeSpan ReplicaLag = TimeSpan.FromSeconds(1.5);

    public string Name => $"cluster-failover-{durability}";

    public bool NeedsRedis => true;

    public async Task RunAsync(FaultSettings settings, Verdict verdict)
    {
        await using var rig = await Rig.StartAsync(settings, Name, "crm", "archive");
        var cluster = await RedisCluster.StartAsync(rig, nodeTimeout: TimeSpan.FromSeconds(2));
        rig.Say($"cluster of 3 masters and 3 replicas up on {cluster.ConnectionString}");
        var relay = await rig.StartRelayAsync(rig.WriteConfig(Rig.RedisStore(cluster.ConnectionString, durability)));
        var destination = new Destination("relay", relay.Url);
        using var vendor = new Vendor(rig.Ledger, Name);
        // Twice the usual load, so that it goes on well after the old master has rejoined: acks must resume for its slots.
        var load = settings.Load * 2;
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"steady load: {settings.Rate:0} events/s for {load.TotalSeconds:0} s, durability {durability}"));
        var sending = vendor.RunAsync(settings.Rate, load, () => destination);

        await Task.Delay(settings.Load * 0.3);
        var victim = await cluster.MasterOfAsync(VictimKey);
        var replica = await cluster.ReplicaOfAsync(victim);

        // The replica falls behind, then its master dies: the replica is frozen (so it cannot reconnect) and the
        // master's link to it is closed, so what the master writes from now on exists only on the master, as in a
        // network partition between them. (Freezing alone is not enough: the kernel would still buffer the stream.)
        replica.Pause();
        await RedisCluster.DropReplicaLinksAsync(victim);
        var laggingFrom = Stopwatch.GetTimestamp();
        rig.Say($"replica {replica.Address} of master {victim.Address} (serving {VictimKey}) frozen and its link closed: it falls behind");
        await Task.Delay(ReplicaLag);
        victim.Kill();
        var killedAt = Stopwatch.GetTimestamp();
        replica.Resume();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"master {victim.Address} killed with SIGKILL {ReplicaLag.TotalSeconds:0.0} s later, its replica thawed; {rig.Ledger.Acked} events acked so far"));
        var promoted = await cluster.WaitForFailoverAsync(victim, VictimKey);
        var failedOverAt = Stopwatch.GetTimestamp();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"failover: {promoted.Address} is master of {VictimKey}, {Stopwatch.GetElapsedTime(killedAt, failedOverAt).TotalSeconds:0.0} s after the kill"));
        await Task.Delay(TimeSpan.FromSeconds(1));
        await victim.RestartAsync();
        await cluster.WaitForReplicaAsync(victim);
        var rejoinedAt = Stopwatch.GetTimestamp();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"{victim.Address} restarted and synced as a replica of {promoted.Address}, {Stopwatch.GetElapsedTime(killedAt, rejoinedAt).TotalSeconds:0.0} s after the kill"));

        var stats = await sending;
        var loadEnded = Stopwatch.GetTimestamp();
        rig.Say("load: " + stats.Line());
        var drained = await rig.DrainAsync(relay.Url);
        var ledger = rig.Ledger.Close();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"drained {drained.TotalSeconds:0.0} s after the load; ledger: {ledger.Line()}"));

        var whileLagging = rig.Ledger.AnswersSentBetween(laggingFrom, killedAt);
        var afterKill = rig.Ledger.AnswersSentBetween(killedAt, failedOverAt);
        var untilRejoin = rig.Ledger.AnswersSentBetween(failedOverAt, rejoinedAt);
        var afterRejoin = rig.Ledger.AnswersSentBetween(rejoinedAt + (2 * Stopwatch.Frequency), loadEnded);
        var summary = string.Create(
            CultureInfo.InvariantCulture,
            $"answers to events sent while the replica lagged: {Format(whileLagging)}; between the kill and the failover: {Format(afterKill)}; from the failover until the old master rejoined: {Format(untilRejoin)}; from 2 s after it rejoined: {Format(afterRejoin)}; "
            + $"acked {ledger.Acked} of {ledger.Sent}; lost {ledger.Lost}; redelivered {ledger.Redelivered}; drained {drained.TotalSeconds:0.0} s after the load");
        verdict.Require(afterRejoin.GetValueOrDefault("2xx") > 0 && afterRejoin.Count == 1, $"acks did not fully resume once the old master had rejoined as a replica: {Format(afterRejoin)}");
        if (durability == "replicas")
        {
            verdict.RequireBalanced(ledger);
            verdict.Report(summary);
        }
        else
        {
            // Expected: asynchronous replication can drop what the master acked last. Reported, never a failure.
            verdict.Require(ledger.Acked > 0, "nothing was acked");
            verdict.Require(ledger.DoubleStored == 0, $"{ledger.DoubleStored} events stored twice");
            verdict.Report(summary);
            foreach (var target in ledger.Targets.Where(t => t.Lost > 0))
            {
                verdict.Report($"{target.Target}: lost with durability fsync (expected): {target.Lost}: {string.Join(", ", target.LostIds)}");
            }
        }
    }

    private static string Format(IReadOnlyDictionary<string, long> answers) =>
        answers.Count == 0 ? "none" : string.Join(", ", answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key} {a.Value}"));
}
