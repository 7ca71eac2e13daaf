using System.Diagnostics;
using System.Globalization;
using Relay.Tests.Infrastructure;

namespace Relay.Faults;

/// <summary>
/// A Redis Cluster of three masters with one replica each on loopback: six <c>redis-server --cluster-enabled yes</c>
/// (appendonly yes, appendfsync always), joined by <c>redis-cli --cluster create ... --cluster-replicas 1</c>. It is
/// inspected with <c>redis-cli</c>, never through the client under test.
/// </summary>
internal sealed class RedisCluster
{
    private readonly Rig _rig;

    private RedisCluster(Rig rig, IReadOnlyList<RedisServerProcess> nodes)
    {
        _rig = rig;
        Nodes = nodes;
    }

    public IReadOnlyList<RedisServerProcess> Nodes { get; }

    /// <summary>A StackExchange.Redis connection string naming every node.</summary>
    public string ConnectionString => string.Join(",", Nodes.Select(n => n.Address));

    /// <summary>Starts the six nodes (owned by <paramref name="rig"/>), creates the cluster and waits until it is healthy.</summary>
    public static async Task<RedisCluster> StartAsync(Rig rig, TimeSpan nodeTimeout)
    {
        var nodes = new List<RedisServerProcess>();
        for (var i = 0; i < 6; i++)
        {
            nodes.Add(await rig.StartRedisAsync($"node{i}", [
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", ((long)nodeTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
                "--cluster-port", LoopbackServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ]).ConfigureAwait(false));
        }

        var cluster = new RedisCluster(rig, nodes);
        var (code, output) = await RunCliAsync(["--cluster", "create", .. nodes.Select(n => n.Address), "--cluster-replicas", "1", "--cluster-yes"]).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(rig.Folder, "cluster-create.log"), output).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({code}); see {rig.Folder}/cluster-create.log.");
        }

        await cluster.WaitUntilAsync(async () =>
        {
            foreach (var node in nodes)
            {
                if (!(await InfoAsync(node, "cluster", "info").ConfigureAwait(false)).Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return false;
                }
            }

            var roles = await cluster.RolesAsync().ConfigureAwait(false);
            return roles.Count(r => r.Value.Master) == 3 && roles.Count(r => !r.Value.Master && r.Value.LinkUp) == 3;
        }, TimeSpan.FromSeconds(60), "the cluster did not become healthy").ConfigureAwait(false);
        return cluster;
    }

    /// <summary>The master currently serving <paramref name="key"/>'s slot, as a live node sees it.</summary>
    public async Task<RedisServerProcess> MasterOfAsync(string key) =>
        await TryMasterOfAsync(key).ConfigureAwait(false) ?? throw new InvalidOperationException($"No master serves {key} now.");

    /// <summary>The master serving <paramref name="key"/>'s slot; null while its master has failed and none took over yet.</summary>
    private async Task<RedisServerProcess?> TryMasterOfAsync(string key)
    {
        var via = Nodes.First(n => n.IsRunning);
        var slot = int.Parse((await InfoAsync(via, "cluster", "keyslot", key).ConfigureAwait(false)).Trim(), CultureInfo.InvariantCulture);
        foreach (var line in (await InfoAsync(via, "cluster", "nodes").ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (!fields[2].Contains("master", StringComparison.Ordinal) || fields[2].Contains("fail", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var range in fields.Skip(8))
            {
                var bounds = range.Split('-');
                var low = int.Parse(bounds[0], CultureInfo.InvariantCulture);
                var high = bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : low;
                if (slot >= low && slot <= high)
                {
                    return NodeAt(fields[1]);
                }
            }
        }

        return null;
    }

    /// <summary>Closes <paramref name="master"/>'s replication links (CLIENT KILL TYPE replica): what it writes next reaches no replica until one reconnects.</summary>
    public static async Task DropReplicaLinksAsync(RedisServerProcess master)
    {
        var killed = await InfoAsync(master, "client", "kill", "type", "replica").ConfigureAwait(false);
        if (killed.Trim() is "0" or "")
        {
            throw new InvalidOperationException($"{master.Address} had no replication link to close ({killed.Trim()}).");
        }
    }

    /// <summary>The node that replicates <paramref name="master"/>.</summary>
    public async Task<RedisServerProcess> ReplicaOfAsync(RedisServerProcess master)
    {
        var lines = (await InfoAsync(master, "cluster", "nodes").ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToList();
        var id = lines.Single(f => f[2].Contains("myself", StringComparison.Ordinal))[0];
        return NodeAt(lines.Single(f => f[3] == id)[1]);
    }

    /// <summary>
    /// Waits until the cluster has failed over from <paramref name="dead"/>: another node is master of its slots and
    /// the cluster state is ok again. Returns the promoted node.
    /// </summary>
    public async Task<RedisServerProcess> WaitForFailoverAsync(RedisServerProcess dead, string key)
    {
        RedisServerProcess? promoted = null;
        await WaitUntilAsync(async () =>
        {
            var via = Nodes.First(n => n.IsRunning);
            if (!(await InfoAsync(via, "cluster", "info").ConfigureAwait(false)).Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                return false;
            }

            var master = await TryMasterOfAsync(key).ConfigureAwait(false);
            promoted = master == dead ? null : master;
            return promoted is not null;
        }, TimeSpan.FromSeconds(60), $"no failover from {dead.Address}").ConfigureAwait(false);
        return promoted!;
    }

    /// <summary>Waits until <paramref name="node"/> is a replica whose link to its master is up (it has synced).</summary>
    public Task WaitForReplicaAsync(RedisServerProcess node) => WaitUntilAsync(
        async () =>
        {
            var info = await InfoAsync(node, "info", "replication").ConfigureAwait(false);
            return info.Contains("role:slave", StringComparison.Ordinal) && info.Contains("master_link_status:up", StringComparison.Ordinal);
        },
        TimeSpan.FromSeconds(60),
        $"{node.Address} did not rejoin as a synced replica");

    /// <summary>Runs redis-cli against <paramref name="node"/>; empty output when it cannot be reached.</summary>
    private static async Task<string> InfoAsync(RedisServerProcess node, params string[] command)
    {
        var (_, output) = await RunCliAsync(["-p", node.Port.ToString(CultureInfo.InvariantCulture), .. command]).ConfigureAwait(false);
        return output.Replace("\r", "", StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> RunCliAsync(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(RedisServerProcess.Cli) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        return (process.ExitCode, await output.ConfigureAwait(false) + await error.ConfigureAwait(false));
    }

    /// <summary>Each reachable node's role: master, or replica with its link state.</summary>
    private async Task<Dictionary<RedisServerProcess, (bool Master, bool LinkUp)>> RolesAsync()
    {
        var roles = new Dictionary<RedisServerProcess, (bool, bool)>();
        foreach (var node in Nodes.Where(n => n.IsRunning))
        {
            var info = await InfoAsync(node, "info", "replication").ConfigureAwait(false);
            roles[node] = (info.Contains("role:master", StringComparison.Ordinal), info.Contains("master_link_status:up", StringComparison.Ordinal));
        }

        return roles;
    }

    private RedisServerProcess NodeAt(string address)
    {
        // CLUSTER NODES gives ip:port@busport.
        var port = int.Parse(address.Split('@')[0].Split(':')[^1], CultureInfo.InvariantCulture);
        return Nodes.Single(n => n.Port == port);
    }

    private async Task WaitUntilAsync(Func<Task<bool>> done, TimeSpan limit, string failure)
    {
        var started = Stopwatch.GetTimestamp();
        while (!await done().ConfigureAwait(false))
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException($"{failure} within {limit.TotalSeconds:0} s; logs in {_rig.Folder}.");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }
}
