namespace Relay.Faults.Scenarios;

/// <summary>One fault, injected under steady load, and what must hold afterwards.</summary>
internal interface IFaultScenario
{
    /// <summary>The name <c>--scenarios</c> selects it by.</summary>
    string Name { get; }

    /// <summary>True when it needs redis-server.</summary>
    bool NeedsRedis { get; }

    Task RunAsync(FaultSettings settings, Verdict verdict);
}

/// <summary>Every scenario, in the order the suite runs them.</summary>
internal static class ScenarioCatalog
{
    public static IReadOnlyList<IFaultScenario> All { get; } =
    [
        new RelayKillScenario(redis: false),
        new RelayKillScenario(redis: true),
        new RedisKillScenario(),
        new TwoRelaysScenario(),
        new ClusterFailoverScenario(durability: "replicas"),
        new ClusterFailoverScenario(durability: "fsync"),
        new TargetOutageScenario(),
        new BadInputScenario(),
    ];
}
