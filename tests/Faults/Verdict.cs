namespace Relay.Faults;

/// <summary>
/// What one scenario concluded: the problems that fail it, and the findings it reports without failing (a loss the
/// scenario expects, e.g. with <c>durability: fsync</c> across a failover).
/// </summary>
internal sealed class Verdict(string scenario)
{
    private readonly List<string> _problems = [];
    private readonly List<string> _findings = [];

    public string Scenario { get; } = scenario;

    public IReadOnlyList<string> Problems => _problems;

    public IReadOnlyList<string> Findings => _findings;

    public bool Passed => _problems.Count == 0;

    /// <summary>Fails the scenario unless <paramref name="holds"/>.</summary>
    public void Require(bool holds, string problem)
    {
        if (!holds)
        {
            _problems.Add(problem);
        }
    }

    public void Fail(string problem) => _problems.Add(problem);

    /// <summary>Reported with the result; does not fail the scenario.</summary>
    public void Report(string finding) => _findings.Add(finding);

    /// <summary>The checks every scenario makes of its ledger: nothing acked lost, nothing stored twice.</summary>
    public void RequireBalanced(LedgerTotals ledger)
    {
        Require(ledger.Acked > 0, "nothing was acked");
        foreach (var target in ledger.Targets)
        {
            Require(target.Lost == 0, $"{target.Target}: {target.Lost} acked events never arrived: {string.Join(", ", target.LostIds)}");
            Require(target.DoubleStored == 0, $"{target.Target}: {target.DoubleStored} events arrived under two webhook-ids (stored twice)");
            Require(target.Strays == 0, $"{target.Target}: {target.Strays} deliveries of events nobody sent");
        }
    }
}
