using System.Text.RegularExpressions;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Architecture;

/// <summary>
/// The stage folders of <c>src/Relay</c> depend on each other only in the directions docs/ARCHITECTURE.md gives:
/// read from each file's <c>using Relay.*</c> lines, and from names a file reaches without a using (a fully qualified
/// <c>Relay.Store.EventStore</c>, or <c>Store.EventStore</c> relative to the enclosing <c>Relay</c> namespace).
/// </summary>
public sealed partial class StageDependencyTests
{
    /// <summary>Stage → the stages it must never use. Verification, Outbound, Conditions and Sources are leaves.</summary>
    private static readonly Dictionary<string, string[]> Forbidden = new()
    {
        ["Store"] = ["Ingress", "Dispatch", "Sources", "Admin"],
        ["Dispatch"] = ["Sources", "Ingress", "Admin"],
        ["Sources"] = ["Ingress", "Store", "Dispatch", "Admin", "Configuration", "Connectors", "Telemetry"],
        ["Configuration"] = ["Ingress", "Dispatch", "Store", "Admin"],
    };

    /// <summary>Stages that may use nothing else of Relay.</summary>
    private static readonly string[] Leaves = ["Verification", "Outbound", "Conditions"];

    [Fact]
    public void Src_EveryStage_UsesNoForbiddenStage()
    {
        var graph = StageGraph.Read(SourceRoot(), RelayNames());

        Assert.Empty(ForbiddenUses(graph));
    }

    [Fact]
    public void Src_StageFolders_FormNoLoop()
    {
        var graph = StageGraph.Read(SourceRoot(), RelayNames());

        Assert.Empty(Loops(graph));
    }

    [Fact]
    public void Src_StageFolders_AreTheOnesTheRulesName()
    {
        // A new folder must be placed in the rules (and in docs/ARCHITECTURE.md) before it can be checked.
        var known = new[] { "Admin", "Conditions", "Configuration", "Connectors", "Dispatch", "Hosting", "Ingress", "Outbound", "Sources", "Store", "Telemetry", "Verification" };

        Assert.Equal(known, StageGraph.Read(SourceRoot(), RelayNames()).Stages.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Checker_ForbiddenUsingAndRelativeName_BothReported()
    {
        var graph = StageGraph.FromFiles(
            [
                ("Store/A.cs", "using Relay.Dispatch;\nnamespace Relay.Store;\ninternal sealed class A;"),
                ("Verification/B.cs", "namespace Relay.Verification;\ninternal sealed class B { private readonly Store.EventStore? _s; }"),
                ("Sources/C.cs", "namespace Relay.Sources;\ninternal sealed class C { public int Sources => Items.Count; }"),
            ],
            RelayNames());

        var found = ForbiddenUses(graph);

        Assert.Contains(found, f => f.StartsWith("Store uses Dispatch", StringComparison.Ordinal) && f.Contains("Store/A.cs:1", StringComparison.Ordinal));
        Assert.Contains(found, f => f.StartsWith("Verification uses Store", StringComparison.Ordinal) && f.Contains("Verification/B.cs:2", StringComparison.Ordinal));
        Assert.DoesNotContain(found, f => f.StartsWith("Sources", StringComparison.Ordinal));
    }

    [Fact]
    public void Checker_LoopThroughThreeStages_Reported()
    {
        var graph = StageGraph.FromFiles(
            [
                ("Ingress/A.cs", "using Relay.Telemetry;\nnamespace Relay.Ingress;"),
                ("Telemetry/B.cs", "using Relay.Admin;\nnamespace Relay.Telemetry;"),
                ("Admin/C.cs", "using Relay.Ingress;\nnamespace Relay.Admin;"),
                ("Hosting/D.cs", "using Relay.Admin;\nnamespace Relay.Hosting;"),
            ],
            RelayNames());

        var loop = Assert.Single(Loops(graph));
        Assert.Equal("Admin -> Ingress -> Telemetry -> Admin", loop);
    }

    private static List<string> ForbiddenUses(StageGraph graph)
    {
        var found = new List<string>();
        foreach (var (stage, uses) in graph.Uses)
        {
            var forbidden = Leaves.Contains(stage) ? graph.Stages.Where(s => s != stage).ToArray() : Forbidden.GetValueOrDefault(stage, []);
            foreach (var (used, where) in uses.Where(u => forbidden.Contains(u.Key)))
            {
                found.Add($"{stage} uses {used} at {where}");
            }
        }

        return found;
    }

    /// <summary>Every loop among the stages, each once, written from its alphabetically first stage.</summary>
    private static List<string> Loops(StageGraph graph)
    {
        var loops = new HashSet<string>(StringComparer.Ordinal);
        foreach (var start in graph.Stages)
        {
            Walk(start, [start]);
        }

        return [.. loops];

        void Walk(string at, List<string> path)
        {
            foreach (var next in graph.Uses.GetValueOrDefault(at, []).Keys)
            {
                if (next == path[0])
                {
                    var first = path.Min(StringComparer.Ordinal)!;
                    var rotated = path.Skip(path.IndexOf(first)).Concat(path.Take(path.IndexOf(first))).Append(first);
                    loops.Add(string.Join(" -> ", rotated));
                }
                else if (!path.Contains(next) && string.CompareOrdinal(next, path[0]) > 0)
                {
                    Walk(next, [.. path, next]);
                }
            }
        }
    }

    private static string SourceRoot() => Path.Combine(Repository.Root(), "src", "Relay");

    /// <summary>Every namespace and type name of the relay assembly, e.g. <c>Relay.Store</c>, <c>Relay.Store.EventStore</c>.</summary>
    private static HashSet<string> RelayNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in typeof(Relay.Hosting.RelayHostingExtensions).Assembly.GetTypes())
        {
            names.Add(type.FullName!.Split('`')[0].Replace('+', '.'));
            var ns = type.Namespace ?? "";
            while (ns.Length > 0)
            {
                names.Add(ns);
                ns = ns.Contains('.', StringComparison.Ordinal) ? ns[..ns.LastIndexOf('.')] : "";
            }
        }

        return names;
    }

    /// <summary>Which stage uses which, with the first place (file:line) that shows it.</summary>
    private sealed partial class StageGraph
    {
        private StageGraph(IReadOnlyList<string> stages, Dictionary<string, Dictionary<string, string>> uses)
        {
            Stages = stages;
            Uses = uses;
        }

        public IReadOnlyList<string> Stages { get; }

        public Dictionary<string, Dictionary<string, string>> Uses { get; }

        public static StageGraph Read(string root, HashSet<string> relayNames) => FromFiles(
            Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
                .Where(f => f.Contains('/', StringComparison.Ordinal) && !f.StartsWith("bin/", StringComparison.Ordinal) && !f.StartsWith("obj/", StringComparison.Ordinal))
                .Select(f => (f, File.ReadAllText(Path.Combine(root, f)))),
            relayNames);

        public static StageGraph FromFiles(IEnumerable<(string Path, string Text)> files, HashSet<string> relayNames)
        {
            var stages = new SortedSet<string>(StringComparer.Ordinal);
            var uses = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
            foreach (var (path, text) in files)
            {
                var stage = path[..path.IndexOf('/', StringComparison.Ordinal)];
                stages.Add(stage);
                var lines = text.Split('\n');
                for (var i = 0; i < lines.Length; i++)
                {
                    var line = CommentFree(lines[i]);
                    foreach (var used in Referenced(line, relayNames).Where(u => u != stage))
                    {
                        var own = uses.TryGetValue(stage, out var found) ? found : uses[stage] = new(StringComparer.Ordinal);
                        own.TryAdd(used, $"{path}:{i + 1}");
                    }
                }
            }

            return new StageGraph([.. stages], uses);
        }

        /// <summary>The stages a line names: <c>using Relay.X</c>, <c>Relay.X.Y</c>, or <c>X.Y</c> where that is a Relay namespace or type.</summary>
        private static IEnumerable<string> Referenced(string line, HashSet<string> relayNames)
        {
            if (line.TrimStart().StartsWith("namespace ", StringComparison.Ordinal))
            {
                yield break;
            }

            foreach (Match match in QualifiedName().Matches(line))
            {
                var name = match.Value.StartsWith("Relay.", StringComparison.Ordinal) ? match.Value : "Relay." + match.Value;
                var parts = name.Split('.');

                // using Relay.Store; or any longer name that is (a prefix of) a Relay namespace or type.
                for (var length = parts.Length; length >= 2; length--)
                {
                    if (relayNames.Contains(string.Join('.', parts[..length])) && (length > 2 || match.Value.StartsWith("Relay.", StringComparison.Ordinal)))
                    {
                        yield return parts[1];
                        break;
                    }
                }
            }
        }

        // A line without its // comment and string literals, so prose and messages do not count as uses.
        private static string CommentFree(string line)
        {
            var code = StringLiteral().Replace(line, "\"\"");
            var comment = code.IndexOf("//", StringComparison.Ordinal);
            return comment < 0 ? code : code[..comment];
        }

        [GeneratedRegex(@"(?<![\w.])(?:Relay\.)?[A-Z]\w*(?:\.[A-Z]\w*)+")]
        private static partial Regex QualifiedName();

        [GeneratedRegex(@"\$?@?""(?:[^""\\]|\\.)*""")]
        private static partial Regex StringLiteral();
    }
}
