using System.Text.Json;
using StackExchange.Redis;

namespace Relay.Store;

/// <summary>A replica's circuit breaker state for one target: closed, open or half-open.</summary>
internal sealed record CircuitReport(string Target, string Replica, string State);

/// <summary>What the replica holding a connector source's stream reports of it.</summary>
internal sealed record ConnectorReport(
    string Source,
    string Holder,
    bool Connected,
    DateTimeOffset? ConnectedSince,
    DateTimeOffset? LastEventAt,
    long EventsReceived,
    long Reconnects,
    string? LastError,
    DateTimeOffset ReportedAt);

/// <summary>
/// State that lives in one replica's memory but that every replica's console shows: each replica's circuit breakers,
/// and the state of each stream connector as its holder sees it. Each replica reports every few seconds with a short
/// time to live, so a replica that died drops out on its own. Also every target any replica ever delivered to, which
/// is how queues left behind by a removed or renamed target are found.
/// </summary>
internal sealed class ClusterReports(StoreConnection connection, TimeProvider time)
{
    /// <summary>How long a report counts after it was made; replicas report well within it.</summary>
    public static readonly TimeSpan Fresh = TimeSpan.FromSeconds(20);

    private RedisKey Replicas => $"{{{connection.Keys.Prefix}}}:replicas";

    /// <summary>Set of every target id any replica has delivered to; never shrinks (a few bytes per target ever configured).</summary>
    private RedisKey KnownTargets => $"{{{connection.Keys.Prefix}}}:targets";

    /// <summary>This process's name in the reports: host, process id, and a random part that tells restarts apart.</summary>
    public string Replica { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>This replica's circuit state of each target it delivers to (target id → closed, open, half-open).</summary>
    public async Task ReportCircuitsAsync(IReadOnlyDictionary<string, string> states)
    {
        var replica = Replica;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var batch = connection.Database.CreateBatch();
        Task[] writes =
        [
            batch.KeyDeleteAsync(CircuitsOf(replica)),
            states.Count == 0 ? Task.CompletedTask : batch.HashSetAsync(CircuitsOf(replica), [.. states.Select(s => new HashEntry(s.Key, s.Value))]),
            states.Count == 0 ? Task.CompletedTask : batch.SetAddAsync(KnownTargets, [.. states.Keys.Select(t => (RedisValue)t)]),
            batch.KeyExpireAsync(CircuitsOf(replica), Fresh),
            batch.SortedSetAddAsync(Replicas, replica, now),
            batch.SortedSetRemoveRangeByScoreAsync(Replicas, double.NegativeInfinity, now - Fresh.TotalMilliseconds),
        ];
        batch.Execute();
        await Task.WhenAll(writes).ConfigureAwait(false);
    }

    /// <summary>Every target any replica has reported delivering to, now or before.</summary>
    public async Task<IReadOnlyList<string>> KnownTargetsAsync() =>
        [.. (await connection.Database.SetMembersAsync(KnownTargets).ConfigureAwait(false)).Select(t => (string)t!)];

    /// <summary>The circuit states reported by every replica seen within <see cref="Fresh"/>.</summary>
    public async Task<IReadOnlyList<CircuitReport>> CircuitsAsync()
    {
        var since = time.GetUtcNow().ToUnixTimeMilliseconds() - Fresh.TotalMilliseconds;
        var replicas = await connection.Database.SortedSetRangeByScoreAsync(Replicas, since, double.PositiveInfinity).ConfigureAwait(false);
        var batch = connection.Database.CreateBatch();
        var reads = replicas.Select(r => (Replica: (string)r!, Read: batch.HashGetAllAsync(CircuitsOf(r!)))).ToArray();
        batch.Execute();
        var reports = new List<CircuitReport>();
        foreach (var (replica, read) in reads)
        {
            reports.AddRange((await read.ConfigureAwait(false)).Select(e => new CircuitReport(e.Name!, replica, e.Value!)));
        }

        return reports;
    }

    public Task ReportConnectorAsync(ConnectorReport report) =>
        connection.Database.StringSetAsync(ConnectorOf(report.Source), JsonSerializer.Serialize(report, StoreJson.Default.ConnectorReport), Fresh);

    /// <summary>The latest report of each of <paramref name="sources"/> whose holder reported within <see cref="Fresh"/>.</summary>
    public async Task<IReadOnlyList<ConnectorReport>> ConnectorsAsync(IReadOnlyCollection<string> sources)
    {
        var batch = connection.Database.CreateBatch();
        var reads = sources.Select(s => batch.StringGetAsync(ConnectorOf(s))).ToArray();
        batch.Execute();
        var reports = new List<ConnectorReport>();
        foreach (var read in reads)
        {
            if ((string?)await read.ConfigureAwait(false) is { } json && JsonSerializer.Deserialize(json, StoreJson.Default.ConnectorReport) is { } report)
            {
                reports.Add(report);
            }
        }

        return reports;
    }

    private RedisKey CircuitsOf(string replica) => $"{{{connection.Keys.Prefix}}}:replica:{replica}:circuits";

    private RedisKey ConnectorOf(string source) => $"{{{connection.Keys.Prefix}}}:connector:{source}:report";
}
