using Microsoft.Extensions.Configuration;
using Relay.Configuration;
using Relay.Sources;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private const string SovosSource =
        "sources:\n  s: { kind: sovos-sse, url: \"https://sovos.example/events\", tokenUrl: \"https://sovos.example/token\", clientId: c, clientSecret: x, ";

    /// <summary>Validates <paramref name="yaml"/> as relay.yaml, with <paramref name="env"/> as the only environment.</summary>
    /// <param name="folder">Where relay.yaml is written (files it names resolve against it); a new temporary folder when null.</param>
    internal static (RelaySnapshot? Snapshot, IReadOnlyList<string> Errors) Load(string yaml, Dictionary<string, string>? env = null, string? folder = null)
    {
        folder ??= TempFolders.Create("relay-config-");
        var path = Path.Combine(folder, "relay.yaml");
        File.WriteAllText(path, yaml);
        var configuration = new ConfigurationBuilder().AddYamlFile(path, reloadOnChange: false).Build();
        return RelayConfigLoader.Load(configuration, folder, SourceKinds.BuiltIn, name => env?.GetValueOrDefault(name));
    }

    [Fact]
    public void Load_ValidFile_ExpandsEnvironmentAndAppliesDefaults()
    {
        var (snapshot, errors) = Load("""
            store: { dataDir: state }
            sources:
              yousign:
                kind: yousign
                path: /hooks/yousign
                secret: ${YOUSIGN_SECRET}
                routes: [{ target: crm, events: ["signature_request.*"] }]
            targets:
              crm: { url: "http://crm.internal/hook", retry: { schedule: [5s, 1m], jitter: 0.1 } }
            """, new() { ["YOUSIGN_SECRET"] = "s3cret" });

        Assert.Empty(errors);
        var config = snapshot!.Config;
        Assert.Equal(16, config.Store.Partitions);
        Assert.Equal(TimeSpan.FromDays(7), config.Store.DedupeWindow);
        Assert.True(Path.IsPathRooted(config.Store.DataDir));
        Assert.EndsWith("state", config.Store.DataDir);
        Assert.Equal(1_048_576, config.Ingress.MaxBodyBytes);
        Assert.Equal([TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1)], config.Targets["crm"].Retry.Schedule);
        Assert.Equal(TimeSpan.FromSeconds(10), config.Targets["crm"].Timeout);
        Assert.Equal(200, config.Sources["yousign"].Ack.Status);
        Assert.Equal(["signature_request.*"], config.Sources["yousign"].Routes[0].Events);
    }

    [Fact]
    public void Load_ManyProblems_ReportsEveryOneWithItsKeyAndAFix()
    {
        var (snapshot, errors) = Load("""
            store: { partitions: 0, retention: 1h }
            sources:
              a: { kind: docusign, path: /hooks/a }
              b: { kind: yousign, path: /hooks/b, routes: [{ target: nowhere }] }
              c: { kind: yousign, path: /hooks/b, secret: "${MISSING_SECRET}", routes: [{ target: crm }] }
            targets:
              crm: { url: "ftp://x", timeout: soon, retry: { schedule: [30m, 1h] } }
            """);

        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.StartsWith("store:partitions:") && e.Contains("from 1 to 1024"));
        Assert.Contains(errors, e => e.StartsWith("sources:a:kind:") && e.Contains("'docusign' is not a known kind") && e.Contains("yousign"));
        Assert.Contains(errors, e => e.StartsWith("sources:b:secret:") && e.Contains("is required"));
        Assert.Contains(errors, e => e.StartsWith("sources:b:routes:0:target:") && e.Contains("'nowhere' is not defined under targets"));
        Assert.Contains(errors, e => e.StartsWith("sources:c:path:") && e.Contains("already used by source 'b'"));
        Assert.Contains(errors, e => e.StartsWith("sources:c:secret:") && e.Contains("MISSING_SECRET is not set"));
        Assert.Contains(errors, e => e.StartsWith("targets:crm:url:") && e.Contains("not an absolute http or https URL"));
        Assert.Contains(errors, e => e.StartsWith("targets:crm:timeout:") && e.Contains("'soon' is not a duration"));
        Assert.Equal(8, errors.Count);
    }

    /// <summary>A route's <c>when:</c> is compiled at load: a bad one is a problem under its own key, reported with the rest.</summary>
    [Fact]
    public void Load_RouteConditions_CompiledAndBadOnesReportedUnderTheirKeysWithTheOtherProblems()
    {
        var (snapshot, errors) = Load("""
            sources:
              y:
                kind: yousign
                path: /y
                secret: s
                routes:
                  - { target: crm, when: 'body.data.signature_request.external_id.startsWith("crm-")' }
                  - { target: crm, when: "type ==" }
                  - { target: crm, when: "bdy.x == 1" }
                  - { target: nowhere }
            targets:
              crm: { url: "http://crm.internal/hook", timeout: soon }
            """);

        Assert.Null(snapshot);
        Assert.Equal(
            ["sources:y:routes:1:when:", "sources:y:routes:2:when:", "sources:y:routes:3:target:", "targets:crm:timeout:"],
            errors.Select(e => e[..(e.IndexOf(": ", StringComparison.Ordinal) + 1)]).Order(StringComparer.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:y:routes:1:when: is not a valid CEL expression: Line 1:7", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:y:routes:2:when: names 'bdy', which is not a variable.", StringComparison.Ordinal));

        var (valid, none) = Load("""
            sources:
              y: { kind: yousign, path: /y, secret: s, routes: [{ target: crm, when: "type.endsWith('.done')" }, { target: crm }] }
            targets:
              crm: { url: "http://crm.internal/hook" }
            """);
        Assert.Empty(none);
        Assert.Equal("type.endsWith('.done')", valid!.Config.Sources["y"].Routes[0].When?.Text);
        Assert.Null(valid.Config.Sources["y"].Routes[1].When);
    }

    [Fact]
    public void Load_StoreDurability_DefaultsToFsyncAndReadsReplicaSettings()
    {
        var (defaults, _) = Load("store: { dataDir: state }");
        Assert.Equal(StoreDurability.Fsync, defaults!.Config.Store.Durability);
        Assert.Equal(1, defaults.Config.Store.MinReplicas);
        Assert.Equal(TimeSpan.FromSeconds(1), defaults.Config.Store.ReplicaTimeout);

        var (snapshot, errors) = Load("store: { connection: \"redis:6379\", durability: replicas, minReplicas: 2, replicaTimeout: 500ms }");
        Assert.Empty(errors);
        Assert.Equal(StoreDurability.Replicas, snapshot!.Config.Store.Durability);
        Assert.Equal(2, snapshot.Config.Store.MinReplicas);
        Assert.Equal(TimeSpan.FromMilliseconds(500), snapshot.Config.Store.ReplicaTimeout);
    }

    [Fact]
    public void Load_EmbeddedMemory_DefaultsTo1GbAndRejectsWhatGarnetCannotRun()
    {
        Assert.Equal(1024L << 20, Load("store: { dataDir: state }").Snapshot!.Config.Store.EmbeddedMemory);
        Assert.Equal(2560L << 20, Load("store: { embedded: { memory: 2.5g } }").Snapshot!.Config.Store.EmbeddedMemory);

        var (snapshot, errors) = Load("store: { embedded: { memory: 64m } }");
        Assert.Null(snapshot);
        Assert.Equal("store:embedded:memory: 64m is out of range; use 128m to 1024g.", Assert.Single(errors));
        Assert.Equal(
            "store:embedded:memory: '1GB' is not a size. Write a number and a unit: 512m or 2g.",
            Assert.Single(Load("store: { embedded: { memory: 1GB } }").Errors));
        Assert.Contains(Load("store: { embedded: { memroy: 2g } }").Errors, e => e.StartsWith("store:embedded:memroy:") && e.Contains("memory"));
    }

    [Fact]
    public void Load_ReplicasDurabilityOnTheEmbeddedStore_IsRejectedWithAFix()
    {
        var (snapshot, errors) = Load("store: { durability: replicas, minReplicas: 0 }");

        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.StartsWith("store:durability:") && e.Contains("embedded store has no replicas") && e.Contains("store.connection"));
        Assert.Contains(errors, e => e.StartsWith("store:minReplicas:") && e.Contains("from 1 to 16"));
        Assert.Equal(2, errors.Count);
        Assert.Contains(Load("store: { connection: \"redis:6379\", durability: quorum }").Errors, e => e.StartsWith("store:durability:") && e.Contains("fsync, replicas"));
    }

    [Fact]
    public void Load_TemplatePathsDifferingOnlyByParameterName_Collide()
    {
        var (_, errors) = Load("""
            sources:
              a: { kind: yousign, path: "/hooks/{token}", secret: x }
              b: { kind: yousign, path: "/hooks/{other}/", secret: y }
            """);

        Assert.Contains(errors, e => e.StartsWith("sources:b:path:") && e.Contains("already used by source 'a'"));
    }

    [Theory]
    [InlineData("sources:\n  \"bad id\": { kind: yousign, path: /x, secret: s }", "not a valid source id")]
    [InlineData("targets:\n  crm: { url: \"http://x\", signing: { secret: \"not-base64!\" } }", "is not a Standard Webhooks secret")]
    [InlineData("targets:\n  crm: { url: \"http://x\", retry: { schedule: [5s, nope] } }", "'nope' is not a positive duration")]
    [InlineData("targets:\n  crm: { url: \"http://x\", retry: { jitter: 2 } }", "must be a number from 0 to 1")]
    [InlineData("admin: { apiKeys: [short] }", "shorter than 16 characters")]
    [InlineData("sources:\n  s: { kind: yousign, path: /x, secret: s, routes: [{ target: crm, events: [~] }] }\ntargets:\n  crm: { url: \"http://x\" }", "sources:s:routes:0:events:0: is empty")]
    [InlineData("targets:\n  crm: { url: \"http://x\", retry: { schedule: [5s, ~, 1m] } }", "targets:crm:retry:schedule:1: is empty")]
    [InlineData("sources:\n  s: { kind: hmac, path: /x, secret: s, header: X-Sig, template: \"{timestamp}.{body}\" }", "timestampHeader")]
    [InlineData("sources:\n  s: { kind: yousign, path: x, secret: s }", "must start with '/'")]
    [InlineData("sources:\n  s: { kind: yousign, path: /x, secret: s, ack: { status: 500 } }", "from 200 to 299")]
    public void Load_OneProblem_NamedClearly(string yaml, string expected)
    {
        var (snapshot, errors) = Load(yaml);

        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    /// <summary>
    /// Failure mode: a duration too large for the timers it feeds (a target timeout of 100d made every delivery throw,
    /// and a hot reload could bring it in). Every duration key has a ceiling, named in its message.
    /// </summary>
    [Theory]
    [InlineData("targets:\n  crm: { url: \"http://x\", timeout: 100d }", "targets:crm:timeout: 100d is too long; use at most 10m.")]
    [InlineData("targets:\n  crm: { url: \"http://x\", retry: { schedule: [5s, 8d] } }\nstore: { retention: 30d }", "targets:crm:retry:schedule:1: 8d is too long; use at most 7d per step.")]
    [InlineData("store: { dedupeWindow: 400d }", "store:dedupeWindow: 400d is too long; use at most 365d.")]
    [InlineData("store: { retention: 366d }", "store:retention: 366d is too long; use at most 365d.")]
    [InlineData("sources:\n  s: { kind: yousign, path: /x, secret: s, dedupeWindow: 1000d }", "sources:s:dedupeWindow: 1000d is too long; use at most 365d.")]
    [InlineData("sources:\n  s: { kind: hmac, path: /x, secret: s, header: X-Sig, template: \"{timestamp}.{body}\", timestampHeader: X-Ts, tolerance: 2h }", "sources:s:tolerance: 2h is too long; use at most 1h.")]
    [InlineData("sources:\n  s: { kind: signicat, path: /x, secret: s, tolerance: 1d }", "sources:s:tolerance: 1d is too long; use at most 1h.")]
    [InlineData("sources:\n  s: { kind: standard-webhooks, path: /x, secret: \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\", tolerance: 90m }", "sources:s:tolerance: 90m is too long; use at most 1h.")]
    [InlineData("sources:\n  s: { kind: alphatrust, path: /x, allowFrom: [10.0.0.0/8], verify: { url: \"http://v\", timeout: 31s } }", "sources:s:verify:timeout: 31s is too long; use at most 30s.")]
    [InlineData(SovosSource + "lease: { ttl: 1h } }", "sources:s:lease:ttl: 1h is too long; use at most 5m.")]
    [InlineData(SovosSource + "idleTimeout: 2h }", "sources:s:idleTimeout: 2h is too long; use at most 1h.")]
    [InlineData(SovosSource + "unhealthyAfter: 1d }", "sources:s:unhealthyAfter: 1d is too long; use at most 1h.")]
    [InlineData(SovosSource + "reconnect: { initialDelay: 20m, maxDelay: 30m } }", "sources:s:reconnect:initialDelay: 20m is too long; use at most 10m.")]
    [InlineData(SovosSource + "reconnect: { maxDelay: 2h } }", "sources:s:reconnect:maxDelay: 2h is too long; use at most 1h.")]
    public void Load_DurationAboveItsCeiling_ErrorNamesKeyAndCeiling(string yaml, string expected)
    {
        var (snapshot, errors) = Load(yaml);

        Assert.Null(snapshot);
        Assert.Contains(expected, errors);
    }

    [Fact]
    public void Load_HmacTimestampPlaceholderWithoutTimestampHeader_ErrorUnderTimestampHeader()
    {
        var (snapshot, errors) = Load("sources:\n  x: { kind: hmac, path: /x, secret: s, header: X-Sig, template: \"{timestamp}.{body}\" }");

        Assert.Null(snapshot);
        var error = Assert.Single(errors);
        Assert.StartsWith("sources:x:timestampHeader: template uses {timestamp} but no timestampHeader is set", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_HmacSeveralSchemeProblems_EachErrorUnderItsKey()
    {
        var (snapshot, errors) = Load("sources:\n  x: { kind: hmac, path: /x, secret: s, header: \" \", template: \"{timestamp}.{nonce}.{body}\" }");

        Assert.Null(snapshot);
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("sources:x:header: header is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:x:template: template placeholder {nonce} is not supported", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:x:timestampHeader: template uses {timestamp}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("kind: hmac, path: /x, secret: s, header: X-Sig, timestampHeader: X-Ts")]
    [InlineData("kind: hmac, path: /x, secret: s, header: X-Sig, template: \"{body}\", timestampHeader: X-Ts, tolerance: 1m")]
    [InlineData("kind: signicat, path: /x, secret: s, timestampHeader: X-Ts")]
    public void Load_TimestampHeaderWithoutTimestampInTemplate_ErrorUnderTimestampHeader(string source)
    {
        var (snapshot, errors) = Load($"sources:\n  x: {{ {source} }}");

        Assert.Null(snapshot);
        Assert.StartsWith("sources:x:timestampHeader: timestampHeader is set but template does not sign {timestamp}", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kind: hmac, path: /x, secret: s", "sources:x:header: is required")]
    [InlineData("kind: hmac, path: /x, secret: s, header: X-Sig, template: \"{timestamp}.{body}\", timestampHeader: X-Ts, tolerance: 500ms", "sources:x:tolerance: 500ms is too short")]
    public void Load_HmacKeyRefusedWhileReading_ReportedOnce(string source, string expected)
    {
        var (snapshot, errors) = Load($"sources:\n  x: {{ {source} }}");

        Assert.Null(snapshot);
        Assert.StartsWith(expected, Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EnvironmentDefault_UsedOnlyWhenVariableUnset()
    {
        const string yaml = "sources:\n  s: { kind: yousign, path: /x, secret: \"${S:-fallback}\" }";

        Assert.Empty(Load(yaml).Errors);
        Assert.Empty(Load(yaml, new() { ["S"] = "set" }).Errors);
        Assert.Contains(Load("sources:\n  s: { kind: yousign, path: /x, secret: \"${S:-}\" }").Errors, e => e.Contains("is required"));
    }
}
