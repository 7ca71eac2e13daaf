namespace Relay.Load.Scenarios;

/// <summary>A benchmark scenario: one or more load steps against the relay, each ending with a closed ledger.</summary>
internal interface IScenario
{
    string Name { get; }

    /// <summary>
    /// Whether the relay started for the scenario has its targets ordered by key (<c>ordering: key</c>); a scenario
    /// may start others itself (<see cref="BenchContext.FreshRelayAsync"/>).
    /// </summary>
    bool OrderedByKey => false;

    /// <summary>Whether it runs on <paramref name="store"/> in this run; every scenario runs on every store unless it says otherwise.</summary>
    bool RunsOn(BenchSettings settings, string store) => true;

    Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context);
}

/// <summary>The scenarios in the order they run. Ingest comes first: it measures the rate the others are set from.</summary>
internal static class ScenarioCatalog
{
    public static readonly IReadOnlyList<IScenario> All =
        [new IngestScenario(), new EndToEndScenario(), new DuplicatesScenario(), new SlowTargetScenario(), new OutageScenario(), new ConditionsScenario(), new OrderingScenario(), new OverloadScenario()];
}
