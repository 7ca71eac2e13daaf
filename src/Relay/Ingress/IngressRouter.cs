using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Relay.Configuration;

namespace Relay.Ingress;

/// <summary>
/// Finds the source whose path a request targets. Rebuilt lazily whenever the config snapshot changes,
/// so a reload that adds or moves a source takes effect on the next request.
/// </summary>
internal sealed class IngressRouter(RelayConfigProvider configProvider)
{
    private Table? _table;

    public SourceBinding? Match(PathString path, RouteValueDictionary values)
    {
        var snapshot = configProvider.Current;
        var table = Volatile.Read(ref _table);
        if (table is null || !ReferenceEquals(table.Snapshot, snapshot))
        {
            table = new Table(snapshot);
            Volatile.Write(ref _table, table);
        }

        var value = path.Value ?? "/";
        if (table.Exact.TryGetValue(value.TrimEnd('/'), out var exact))
        {
            return exact;
        }

        foreach (var (matcher, binding) in table.Templates)
        {
            if (matcher.TryMatch(path, values))
            {
                return binding;
            }
        }

        return null;
    }

    private sealed class Table
    {
        public Table(RelaySnapshot snapshot)
        {
            Snapshot = snapshot;
            foreach (var binding in snapshot.Sources.Where(s => s.Config.Path is not null))
            {
                var path = binding.Config.Path!;
                if (path.Contains('{', StringComparison.Ordinal))
                {
                    Templates.Add((new TemplateMatcher(TemplateParser.Parse(path), []), binding));
                }
                else
                {
                    Exact[path.TrimEnd('/')] = binding;
                }
            }
        }

        public RelaySnapshot Snapshot { get; }

        public Dictionary<string, SourceBinding> Exact { get; } = new(StringComparer.OrdinalIgnoreCase);

        public List<(TemplateMatcher Matcher, SourceBinding Binding)> Templates { get; } = [];
    }
}
