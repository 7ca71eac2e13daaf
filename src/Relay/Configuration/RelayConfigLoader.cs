using System.Text.RegularExpressions;
using Relay.Conditions;
using Relay.Sources;
using Relay.Verification;

namespace Relay.Configuration;

/// <summary>A source bound to its kind's handler, as the ingress sees it.</summary>
internal sealed record SourceBinding(SourceConfig Config, ISourceHandler Handler);

/// <summary>A source Relay connects out to (a stream), bound to its kind's settings.</summary>
internal sealed record ConnectorBinding(SourceConfig Config, IConnectorSettings Settings);

/// <summary>Everything that changes together when relay.yaml changes.</summary>
/// <param name="Sources">Sources that receive webhooks on a path.</param>
/// <param name="Connectors">Sources whose events Relay fetches over an outbound connection.</param>
internal sealed record RelaySnapshot(RelayConfig Config, IReadOnlyList<SourceBinding> Sources, IReadOnlyList<ConnectorBinding> Connectors)
{
    private readonly Dictionary<string, IDeferredCheck> _deferredChecks = Sources
        .Where(s => s.Handler.DeferredCheck is not null)
        .ToDictionary(s => s.Config.Id, s => s.Handler.DeferredCheck!, StringComparer.Ordinal);

    /// <summary>The check a source's events pass before their first delivery; null when the source has none (or is gone).</summary>
    public IDeferredCheck? DeferredCheckOf(string sourceId) => _deferredChecks.GetValueOrDefault(sourceId);
}

/// <summary>
/// Turns the relay.yaml section of <see cref="IConfiguration"/> into a validated <see cref="RelaySnapshot"/>.
/// Every problem is collected and reported together; nothing is half-applied.
/// </summary>
internal static partial class RelayConfigLoader
{
    public static readonly IReadOnlyList<TimeSpan> DefaultSchedule =
        [.. new[] { "5s", "30s", "2m", "10m", "30m", "1h", "3h", "6h", "12h", "24h" }.Select(s => { Durations.TryParse(s, out var t); return t; })];

    // Every duration has a ceiling, so no value can overflow a timer or an expiry (a 100d timeout made the HTTP
    // handler throw on every delivery) and a slip of the unit is caught at load.

    /// <summary>Longest dedupe window or retention: a year.</summary>
    private static readonly TimeSpan MaxKeep = TimeSpan.FromDays(365);

    /// <summary>Longest wait for one delivery attempt.</summary>
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Longest delay before one retry.</summary>
    private static readonly TimeSpan MaxRetryStep = TimeSpan.FromDays(7);

    /// <summary>Shortest ack budget: much less than a durable write under load, and every request that has to wait is refused.</summary>
    private static readonly TimeSpan MinAckBudget = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest ack budget: vendors give up on a callback well before a minute.</summary>
    private static readonly TimeSpan MaxAckBudget = TimeSpan.FromMinutes(1);

    /// <param name="baseDirectory">Folder of the config file: relative paths in it resolve against this.</param>
    /// <param name="kinds">The kinds a source may name; each reads its own settings.</param>
    public static (RelaySnapshot? Snapshot, IReadOnlyList<string> Errors) Load(
        IConfiguration root, string baseDirectory, SourceKinds kinds, Func<string, string?>? environment = null)
    {
        var errors = new List<string>();
        var keys = new ConfigKeys();
        var reader = new ConfigReader(root, "", errors, environment ?? Environment.GetEnvironmentVariable, baseDirectory, keys);

        var store = ReadStore(reader.Section("store"), baseDirectory);
        var ingressSection = reader.Section("ingress");
        var maxBodyBytes = ingressSection.Long("maxBodyBytes", 1_048_576, 1, 256L * 1024 * 1024);
        var ingress = new IngressConfig(
            maxBodyBytes,
            ingressSection.Int("maxConcurrentRequests", IngressConfig.DefaultMaxConcurrentRequests, 1, 100_000),
            ingressSection.Int("queueLimit", IngressConfig.DefaultQueueLimit, 0, 100_000),
            // A body as large as the limit must fit, or it could never be taken.
            ingressSection.Long("maxBufferedBytes", Math.Max(IngressConfig.DefaultMaxBufferedBytes, maxBodyBytes + 1), maxBodyBytes + 1, 64L * 1024 * 1024 * 1024),
            ingressSection.Duration("ackBudget", IngressConfig.DefaultAckBudget, MinAckBudget, MaxAckBudget));
        var admin = ReadAdmin(reader.Section("admin"));
        var targets = ReadTargets(reader.Section("targets"), store);
        var connectors = new List<ConnectorBinding>();
        var sources = ReadSources(reader.Section("sources"), kinds, store, targets, connectors);

        // Sections that are not Relay's to read, though they may sit in relay.yaml: YARP validates reverseProxy, and
        // ASP.NET Core reads Logging from the same configuration.
        reader.Ignore("reverseProxy");
        reader.Ignore("Logging");
        keys.ReportUnknown(root, errors);

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var config = new RelayConfig(
            store, ingress, admin, sources.Select(s => s.Config).Concat(connectors.Select(c => c.Config)).ToDictionary(s => s.Id), targets);
        return (new RelaySnapshot(config, sources, connectors), errors);
    }

    private static StoreConfig ReadStore(ConfigReader store, string baseDirectory)
    {
        var prefix = store.String("prefix", "relay")!;
        if (!SafeId().IsMatch(prefix))
        {
            store.Error("prefix", $"'{prefix}' may only use letters, digits, '-' and '_'.");
        }

        var connection = store.String("connection", "")!;
        var durability = store.OneOf("durability", "fsync", "fsync", "replicas") == "replicas" ? StoreDurability.Replicas : StoreDurability.Fsync;
        if (durability == StoreDurability.Replicas && connection.Length == 0)
        {
            store.Error("durability", "'replicas' needs Redis: the embedded store has no replicas. Set store.connection to a Redis with replicas, or use durability: fsync.");
        }

        return new StoreConfig(
            Connection: connection,
            DataDir: Path.GetFullPath(store.String("dataDir", "data")!, baseDirectory),
            Partitions: store.Int("partitions", 16, 1, 1024),
            DedupeWindow: store.Duration("dedupeWindow", TimeSpan.FromDays(7), min: TimeSpan.FromSeconds(1), max: MaxKeep),
            Retention: store.Duration("retention", TimeSpan.FromDays(7), min: TimeSpan.FromMinutes(1), max: MaxKeep),
            DeadLetterRetention: store.Duration("deadLetterRetention", TimeSpan.FromDays(30), min: TimeSpan.FromHours(1), max: MaxKeep),
            Prefix: prefix,
            Durability: durability,
            MinReplicas: store.Int("minReplicas", 1, 1, 16),
            ReplicaTimeout: store.Duration("replicaTimeout", TimeSpan.FromSeconds(1), min: TimeSpan.FromMilliseconds(10), max: TimeSpan.FromSeconds(30)),
            EmbeddedMemory: store.Section("embedded").Size("memory", StoreConfig.DefaultEmbeddedMemory, StoreConfig.MinEmbeddedMemory, StoreConfig.MaxEmbeddedMemory));
    }

    private static AdminConfig ReadAdmin(ConfigReader admin)
    {
        var keys = admin.Strings("apiKeys");
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i].Length is > 0 and < 16)
            {
                admin.Error($"apiKeys:{i}", "is shorter than 16 characters. Use a long random key, e.g. from `openssl rand -hex 32`.");
            }
        }

        return new AdminConfig(keys.Where(k => k.Length > 0).ToArray(), admin.String("urls", "")!);
    }

    private static Dictionary<string, TargetConfig> ReadTargets(ConfigReader section, StoreConfig store)
    {
        var targets = new Dictionary<string, TargetConfig>(StringComparer.Ordinal);
        foreach (var (id, target) in section.Children())
        {
            CheckId(section, id, "target");
            var url = target.HttpUrl("url", "Set the address to deliver to, e.g. url: http://crm.internal/webhooks.");

            // A schedule may outlast store.retention: an event a target still owes never expires.
            var retry = target.Section("retry");
            var schedule = retry.Exists("schedule") ? ReadSchedule(retry) : DefaultSchedule;

            SigningConfig? signing = null;
            if (target.Exists("signing"))
            {
                var secret = target.Section("signing").RequiredString("secret", "Set a Standard Webhooks secret (whsec_<base64>) shared with the target.");
                if (secret.Length > 0)
                {
                    if (StandardWebhooks.TryDecodeSecret(secret, out var key))
                    {
                        signing = new SigningConfig(key);
                    }
                    else
                    {
                        target.Section("signing").Error("secret", "is not a Standard Webhooks secret. Use whsec_ followed by base64, e.g. generate 32 random bytes and base64 them.");
                    }
                }
            }

            var successBody = target.String("successBody");
            var ordered = target.OneOf("ordering", "none", "none", "key") == "key";
            var blockOnDeadLetter = target.OneOf("onDeadLetter", "skip", "skip", "block") == "block";
            if (blockOnDeadLetter && !ordered)
            {
                target.Error("onDeadLetter", "block only applies with ordering: key (a dead letter then holds its ordering key). Add ordering: key, or remove onDeadLetter.");
            }

            targets[id] = new TargetConfig(
                id,
                url ?? new Uri("http://invalid"),
                target.Duration("timeout", TimeSpan.FromSeconds(10), min: TimeSpan.FromMilliseconds(100), max: MaxTimeout),
                target.Int("concurrency", 16, 1, 1024),
                new RetryConfig(schedule, retry.Double("jitter", 0.2, 0, 1)),
                string.IsNullOrEmpty(successBody) ? null : successBody,
                signing,
                ordered,
                blockOnDeadLetter);
        }

        return targets;
    }

    private static List<TimeSpan> ReadSchedule(ConfigReader retry)
    {
        var schedule = new List<TimeSpan>();
        var steps = retry.Strings("schedule");
        for (var i = 0; i < steps.Count; i++)
        {
            if (Durations.TryParse(steps[i], out var step) && step > TimeSpan.Zero)
            {
                if (step > MaxRetryStep)
                {
                    retry.Error($"schedule:{i}", $"{steps[i]} is too long; use at most {Durations.Format(MaxRetryStep)} per step.");
                }

                schedule.Add(step);
            }
            else
            {
                retry.Error($"schedule:{i}", $"'{steps[i]}' is not a positive duration. Write a number and a unit: 250ms, 5s, 2m, 1h or 7d.");
            }
        }

        return schedule;
    }

    private static List<SourceBinding> ReadSources(
        ConfigReader section, SourceKinds kinds, StoreConfig store, Dictionary<string, TargetConfig> targets, List<ConnectorBinding> connectors)
    {
        var knownKinds = string.Join(", ", kinds.Names);
        var bindings = new List<SourceBinding>();
        var paths = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (id, source) in section.Children())
        {
            CheckId(section, id, "source");
            var kindName = source.RequiredString("kind", $"Choose one of: {knownKinds}.");
            if (kinds.Connectors.TryGetValue(kindName, out var connectorKind))
            {
                if (ReadConnector(id, source, connectorKind, store, targets) is { } connector)
                {
                    connectors.Add(connector);
                }

                continue;
            }

            if (!kinds.Webhooks.TryGetValue(kindName, out var kind))
            {
                if (kindName.Length > 0)
                {
                    source.Error("kind", $"'{kindName}' is not a known kind. Choose one of: {knownKinds}.");
                }

                // Which keys the source may have depends on its kind: without one, they cannot be judged.
                section.Ignore(id);
                continue;
            }

            var path = source.RequiredString("path", $"Set the URL path the vendor calls, e.g. path: /hooks/{id}.");
            if (path.Length > 0)
            {
                if (!path.StartsWith('/'))
                {
                    source.Error("path", $"'{path}' must start with '/'.");
                }
                else if (paths.TryGetValue(NormalizePath(path), out var other))
                {
                    source.Error("path", $"'{path}' is already used by source '{other}'. Give each source its own path.");
                }
                else
                {
                    paths[NormalizePath(path)] = id;
                }
            }

            var config = ReadSource(id, kindName, path, ReadAck(source.Section("ack"), kind.DefaultAck), kind.DefaultDedupeWindow ?? store.DedupeWindow, source, targets);
            if (kind.Create(path, source) is { } handler)
            {
                bindings.Add(new SourceBinding(config, handler));
            }
        }

        return bindings;
    }

    private static ConnectorBinding? ReadConnector(
        string id, ConfigReader source, IConnectorKind kind, StoreConfig store, Dictionary<string, TargetConfig> targets)
    {
        foreach (var vendorFacing in new[] { "path", "ack" })
        {
            if (source.Exists(vendorFacing))
            {
                source.Error(vendorFacing, $"does not apply to kind '{kind.Name}': Relay opens the connection itself, so no vendor calls a path or waits for an ack. Remove {vendorFacing}.");
                source.Ignore(vendorFacing);
            }
        }

        // Nobody is waiting for an ack; the value only fills the record.
        var config = ReadSource(id, kind.Name, null, new AckConfig(200, null, ""), store.DedupeWindow, source, targets);
        return kind.Create(source) is { } settings ? new ConnectorBinding(config, settings) : null;
    }

    private static SourceConfig ReadSource(
        string id, string kind, string? path, AckConfig ack, TimeSpan defaultDedupeWindow, ConfigReader source, Dictionary<string, TargetConfig> targets) => new(
            id,
            kind,
            path,
            ack,
            source.Duration("dedupeWindow", defaultDedupeWindow, min: TimeSpan.FromSeconds(1), max: MaxKeep),
            ReadRoutes(source, targets));

    private static AckConfig ReadAck(ConfigReader ack, AckConfig fallback) => new(
        ack.Int("status", fallback.Status, 200, 299),
        ack.String("contentType", fallback.ContentType),
        ack.String("body", fallback.Body)!);

    private static List<RouteConfig> ReadRoutes(ConfigReader source, Dictionary<string, TargetConfig> targets)
    {
        var routes = new List<RouteConfig>();
        foreach (var (index, route) in source.Section("routes").Children())
        {
            var target = route.RequiredString("target", "Name a target from the targets section.");
            if (target.Length > 0 && !targets.ContainsKey(target))
            {
                route.Error("target", $"'{target}' is not defined under targets. Add targets:{target} or fix the name; known: {string.Join(", ", targets.Keys)}.");
            }

            var events = route.Strings("events");
            if (events.Any(string.IsNullOrWhiteSpace))
            {
                route.Error("events", "has an empty pattern. Remove it, or use \"*\" to match every event.");
            }

            RouteCondition? when = null;
            if (route.String("when") is { } expression && !RouteCondition.TryCompile(expression, out when, out var problem))
            {
                route.Error("when", problem);
            }

            routes.Add(new RouteConfig(target, events, route.Strings("tags"), when));
        }

        return routes;
    }

    private static void CheckId(ConfigReader section, string id, string what)
    {
        if (!SafeId().IsMatch(id))
        {
            section.Error(id, $"'{id}' is not a valid {what} id: use letters, digits, '-' and '_' only (it becomes part of store keys and metric tags).");
        }
    }

    // Templates differ only by parameter names still collide: /hooks/{a} and /hooks/{b} match the same requests.
    private static string NormalizePath(string path) => TemplateParameter().Replace(path.TrimEnd('/'), "{}");

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex SafeId();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex TemplateParameter();
}
