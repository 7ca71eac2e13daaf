using System.Globalization;
using StackExchange.Redis;

namespace Relay.Tests.Infrastructure;

/// <summary>A redis-server primary and one replica of it (<c>--replicaof</c>), each in its own folder.</summary>
internal sealed class PrimaryAndReplica : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _admin;

    private PrimaryAndReplica(RedisServerProcess primary, RedisServerProcess replica, ConnectionMultiplexer admin)
    {
        Primary = primary;
        Replica = replica;
        _admin = admin;
    }

    public RedisServerProcess Primary { get; private set; }

    public RedisServerProcess Replica { get; private set; }

    public static async Task<PrimaryAndReplica> StartAsync()
    {
        var primary = await RedisServerProcess.StartAsync();
        var replica = await RedisServerProcess.TryStartAsync(arguments: ["--replicaof", "127.0.0.1", primary.Port.ToString(CultureInfo.InvariantCulture)]);
        var admin = await ConnectionMultiplexer.ConnectAsync($"{primary.Address},{replica!.Address},allowAdmin=true");
        var pair = new PrimaryAndReplica(primary, replica, admin);
        await pair.WaitForLinkAsync();
        return pair;
    }

    /// <summary>Starts the replica again after a kill, and returns once it has caught up with the primary.</summary>
    public async Task RestartReplicaAsync()
    {
        await Replica.RestartAsync();
        await WaitForLinkAsync();
    }

    /// <summary>Makes the replica the primary and the primary its replica; returns once the new replica has synced.</summary>
    public async Task SwapRolesAsync()
    {
        await _admin.GetServer(Replica.Address).ExecuteAsync("REPLICAOF", "NO", "ONE");
        await _admin.GetServer(Primary.Address).ExecuteAsync("REPLICAOF", "127.0.0.1", Replica.Port.ToString(CultureInfo.InvariantCulture));
        (Primary, Replica) = (Replica, Primary);
        await WaitForLinkAsync();
    }

    /// <summary>The vendor event ids (Yousign <c>event_id</c>) whose dedupe keys the replica holds.</summary>
    public async Task<List<string>> VendorIdsOnReplicaAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in _admin.GetServer(Replica.Address).KeysAsync(pattern: $"{{{prefix}:p*}}:dedup:yousign:*"))
        {
            keys.Add(((string)key!)[(((string)key!).LastIndexOf(':') + 1)..]);
        }

        return [.. keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>How many times the primary ran <paramref name="command"/> (INFO commandstats).</summary>
    public async Task<long> PrimaryCallsAsync(string command)
    {
        var stats = await _admin.GetServer(Primary.Address).InfoRawAsync("commandstats");
        var line = stats!.Split('\n').FirstOrDefault(l => l.StartsWith($"cmdstat_{command}:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split("calls=")[1].Split(',')[0], CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await _admin.CloseAsync();
        _admin.Dispose();
        Replica.Dispose();
        Primary.Dispose();
    }

    private async Task WaitForLinkAsync()
    {
        for (var i = 0; i < 200; i++)
        {
            try
            {
                var info = await _admin.GetServer(Replica.Address).InfoRawAsync("replication");
                if (info!.Contains("master_link_status:up", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (RedisException)
            {
                // Reconnecting to the restarted replica.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The replica on {Replica.Address} did not link up with {Primary.Address}; see {Replica.Folder}/redis.log.");
    }
}
