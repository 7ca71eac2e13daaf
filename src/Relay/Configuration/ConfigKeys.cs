namespace Relay.Configuration;

/// <summary>
/// Which keys of relay.yaml the readers asked for, so that loading can report every key nobody asked for: a misspelt
/// <c>sucessBody:</c> or a <c>when:</c> on a route would otherwise be ignored without a word. Readers record each key as
/// they read it (kinds included, through <see cref="Sources.IKindSettings"/>); after loading, <see cref="ReportUnknown"/>
/// walks the keys that came from relay.yaml and the <c>Relay__</c> environment overrides, and names each one no reader
/// asked for, with the closest known key. Keys from elsewhere (the command line, ASP.NET's own environment variables)
/// are not judged: the configuration root holds those too.
/// </summary>
internal sealed class ConfigKeys
{
    private readonly HashSet<string> _asked = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _askedAsValue = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _askedAsSection = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _ignored = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, SortedSet<string>> _namesByParent = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Records that <paramref name="key"/> (a full key, e.g. <c>targets:crm:timeout</c>) was asked for.</summary>
    public void Asked(string key) => Record(key);

    /// <summary>Records that <paramref name="key"/> was read as a value (text, number, duration, list...).</summary>
    public void AskedAsValue(string key)
    {
        Record(key);
        _askedAsValue.Add(key);
    }

    /// <summary>Records that <paramref name="key"/> was opened as a section, whose own keys go below it.</summary>
    public void AskedAsSection(string key)
    {
        Record(key);
        _askedAsSection.Add(key);
    }

    /// <summary>
    /// Leaves <paramref name="key"/> and everything below it out of the check: another component validates it (YARP's
    /// <c>reverseProxy</c>), or its problem is reported already (a source of an unknown kind).
    /// </summary>
    public void Ignore(string key)
    {
        Record(key);
        _ignored.Add(key);
    }

    /// <summary>
    /// Adds a problem to <paramref name="errors"/> for every key below <paramref name="root"/> that came from relay.yaml or
    /// a <c>Relay__</c> override and that no reader asked for, and for every section that was given a value instead of
    /// keys. Only the topmost unknown key of a subtree is named.
    /// </summary>
    public void ReportUnknown(IConfiguration root, List<string> errors)
    {
        var childKeys = RelayOwnedChildKeys(root);
        var found = new List<string>();
        foreach (var key in childKeys(null))
        {
            Walk(key);
        }

        errors.AddRange(found);

        void Walk(string key)
        {
            if (_ignored.Contains(key))
            {
                return;
            }

            if (!_asked.Contains(key))
            {
                found.Add(Unknown(key));
                return;
            }

            if (_askedAsSection.Contains(key) && !_askedAsValue.Contains(key) && !string.IsNullOrEmpty(root[key])
                && !errors.Exists(e => e.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)))
            {
                found.Add($"{key}: holds a value, but it is a section: write its keys below it ({string.Join(", ", NamesBelow(key))}).");
            }

            foreach (var child in childKeys(key))
            {
                Walk(ConfigurationPath.Combine(key, child));
            }
        }
    }

    private void Record(string key)
    {
        if (!_asked.Add(key))
        {
            return;
        }

        var parent = ConfigurationPath.GetParentPath(key) ?? "";
        if (!_namesByParent.TryGetValue(parent, out var names))
        {
            _namesByParent[parent] = names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        }

        names.Add(ConfigurationPath.GetSectionKey(key));
    }

    private string[] NamesBelow(string parent) =>
        _namesByParent.TryGetValue(parent, out var names) ? [.. names] : [];

    private string Unknown(string key)
    {
        var parent = ConfigurationPath.GetParentPath(key) ?? "";
        var name = ConfigurationPath.GetSectionKey(key);
        var known = NamesBelow(parent);
        // Close: a few edits apart (a typo), or one the start of the other (maxBody for maxBodyBytes).
        var closest = known
            .Select(k => (Name: k, Distance: EditDistance(name.ToLowerInvariant(), k.ToLowerInvariant())))
            .Where(k => k.Distance <= Math.Max(2, Math.Max(name.Length, k.Name.Length) / 3)
                || (Math.Min(name.Length, k.Name.Length) >= 3
                    && (k.Name.StartsWith(name, StringComparison.OrdinalIgnoreCase) || name.StartsWith(k.Name, StringComparison.OrdinalIgnoreCase))))
            .OrderBy(k => k.Distance)
            .Select(k => k.Name)
            .FirstOrDefault();
        var suggestion = closest is null ? "" : $"; did you mean {closest}?";
        var what = parent.Length == 0 ? "a section of relay.yaml" : "a known key";
        var list = known.Length == 0 ? "" : $" Known {(parent.Length == 0 ? "sections" : "keys here")}: {string.Join(", ", known)}.";
        return $"{key}: is not {what}{suggestion}{(closest is null ? "." : "")} Fix its name or remove it.{list}";
    }

    /// <summary>Levenshtein distance: the fewest single-character edits that turn one word into the other.</summary>
    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>
    /// The child keys of a path, counting only the providers relay.yaml's keys come from: the YAML file and the
    /// <c>Relay__</c> overrides. Without a root to look into (a plain section), every key counts.
    /// </summary>
    private static Func<string?, IEnumerable<string>> RelayOwnedChildKeys(IConfiguration root)
    {
        if (root is not IConfigurationRoot configurationRoot)
        {
            return parent => (parent is null ? root.GetChildren() : root.GetSection(parent).GetChildren()).Select(c => c.Key);
        }

        var providers = configurationRoot.Providers.Where(p => p is YamlConfigurationProvider or RelayEnvironmentProvider).ToArray();
        return parent => providers
            .Aggregate(Enumerable.Empty<string>(), (keys, provider) => provider.GetChildKeys(keys, parent))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToArray();
    }
}
