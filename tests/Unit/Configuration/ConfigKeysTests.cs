using Microsoft.Extensions.Configuration;
using Relay.Configuration;
using Relay.Sources;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Configuration;

/// <summary>
/// Keys of relay.yaml that nothing reads. Failure mode: a misspelt <c>sucessBody:</c> under a target, or a <c>when:</c>
/// on a route before Relay read conditions, was silently ignored, so the relay started doing something else than the file said.
/// </summary>
public sealed class ConfigKeysTests
{
    private const string Target = "targets:\n  crm: { url: \"http://crm.internal/hook\" }\n";
    private const string Sovos =
        "sources:\n  s: { kind: sovos-sse, url: \"https://sovos.example/events\", tokenUrl: \"https://sovos.example/token\", clientId: c, clientSecret: x, ";

    [Theory]
    [InlineData("tagrets:\n  crm: { url: \"http://x\" }\n", "tagrets: is not a section of relay.yaml; did you mean targets?")]
    [InlineData("store: { dedupWindow: 1d }", "store:dedupWindow: is not a known key; did you mean dedupeWindow?")]
    [InlineData("ingress: { maxBody: 10 }", "ingress:maxBody: is not a known key; did you mean maxBodyBytes?")]
    [InlineData("admin: { url: \"http://127.0.0.1:9090\" }", "admin:url: is not a known key; did you mean urls?")]
    [InlineData("targets:\n  crm: { url: \"http://x\", sucessBody: ok }", "targets:crm:sucessBody: is not a known key; did you mean successBody?")]
    [InlineData("targets:\n  crm: { url: \"http://x\", retry: { schedul: [1s] } }", "targets:crm:retry:schedul: is not a known key; did you mean schedule?")]
    [InlineData("targets:\n  crm: { url: \"http://x\", signing: { secert: \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\" } }", "targets:crm:signing:secert: is not a known key; did you mean secret?")]
    [InlineData("sources:\n  y: { kind: yousign, path: /y, secret: s, dedupeWindw: 1d }", "sources:y:dedupeWindw: is not a known key; did you mean dedupeWindow?")]
    [InlineData("sources:\n  y: { kind: yousign, path: /y, secret: s, ack: { stauts: 202 } }", "sources:y:ack:stauts: is not a known key; did you mean status?")]
    [InlineData("sources:\n  h: { kind: hmac, path: /h, secret: s, header: X-Sig, timestampHeadr: X-Ts }", "sources:h:timestampHeadr: is not a known key; did you mean timestampHeader?")]
    [InlineData("sources:\n  a: { kind: alphatrust, path: /a, allowFrom: [10.0.0.0/8], verify: { url: \"http://v\", timout: 5s } }", "sources:a:verify:timout: is not a known key; did you mean timeout?")]
    [InlineData(Sovos + "lease: { tll: 10s } }", "sources:s:lease:tll: is not a known key; did you mean ttl?")]
    [InlineData(Sovos + "reconect: { maxDelay: 10s } }", "sources:s:reconect: is not a known key; did you mean reconnect?")]
    public void Load_MisspeltKey_ErrorNamesFullKeyAndTheClosestKnownOne(string yaml, string expected)
    {
        var (snapshot, errors) = ConfigLoaderTests.Load(yaml);

        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_KeyNoReaderKnowsAndNoneIsClose_ErrorListsTheKnownKeys()
    {
        var (_, errors) = ConfigLoaderTests.Load("sources:\n  y: { kind: yousign, path: /y, secret: s, routes: [{ target: crm, unless: \"type == 'x'\" }] }\n" + Target);

        Assert.Equal(["sources:y:routes:0:unless: is not a known key. Fix its name or remove it. Known keys here: events, tags, target, when."], errors);
    }

    [Fact]
    public void Load_KeyOfAnotherKind_IsUnknownForThisOne()
    {
        var (_, errors) = ConfigLoaderTests.Load("sources:\n  y: { kind: yousign, path: /y, secret: s, header: X-Other }");

        Assert.Equal(["sources:y:header: is not a known key. Fix its name or remove it. Known keys here: ack, dedupeWindow, kind, path, routes, secret."], errors);
    }

    [Fact]
    public void Load_UnknownKeysAndOtherProblems_AllReportedTogether()
    {
        var (snapshot, errors) = ConfigLoaderTests.Load("""
            store: { retention: soon, prefx: x }
            sources:
              y: { kind: yousign, path: /y, routes: [{ target: crm, whem: x }] }
            targets:
              crm: { url: "http://crm.internal/hook", timeout: 100d, sucessBody: ok }
            """);

        Assert.Null(snapshot);
        Assert.Equal(
            [
                "sources:y:routes:0:whem:", "sources:y:secret:", "store:prefx:", "store:retention:", "targets:crm:sucessBody:", "targets:crm:timeout:",
            ],
            errors.Select(e => e[..(e.IndexOf(": ", StringComparison.Ordinal) + 1)]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Load_SectionGivenAValue_ErrorSaysItsKeysGoBelowIt()
    {
        var (_, errors) = ConfigLoaderTests.Load("targets:\n  crm: { url: \"http://x\", retry: 5s }\nsources:\n  y: { kind: yousign, path: /y, secret: s, ack: 202 }");

        Assert.Equal(
            [
                "sources:y:ack: holds a value, but it is a section: write its keys below it (body, contentType, status).",
                "targets:crm:retry: holds a value, but it is a section: write its keys below it (jitter, schedule).",
            ],
            errors.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Load_SourceOfUnknownKind_OnlyTheKindReported()
    {
        var (_, errors) = ConfigLoaderTests.Load("sources:\n  d: { kind: docusign, path: /d, accountId: 42, hmacKey: x }");

        Assert.StartsWith("sources:d:kind: 'docusign' is not a known kind", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_KeysFromOutsideRelayYaml_NotJudged()
    {
        // The configuration root also holds the command line and ASP.NET's own settings: urls, config, Logging...
        var folder = new TestFolder().Path;
        var path = Path.Combine(folder, "relay.yaml");
        File.WriteAllText(path, Target);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["urls"] = "http://127.0.0.1:8080", ["config"] = path, ["Logging:LogLevel:Default"] = "Warning", ["targets:crm:fromElsewhere"] = "x",
            })
            .AddYamlFile(path, reloadOnChange: false)
            .Build();

        var (snapshot, errors) = RelayConfigLoader.Load(configuration, folder, SourceKinds.BuiltIn, _ => null);

        Assert.Empty(errors);
        Assert.NotNull(snapshot);
    }

    /// <summary>Every key the README documents, at once: none of them is unknown.</summary>
    [Fact]
    public void Load_FullConfigWithEveryDocumentedKey_NoError()
    {
        var folder = new TestFolder().Path;
        using var legalesign = new RsaCallbackSigner(folder);
        var (snapshot, errors) = ConfigLoaderTests.Load("""
            store:
              connection: ""
              dataDir: data
              partitions: 8
              dedupeWindow: 7d
              retention: 14d
              prefix: relay-x
            ingress:
              maxBodyBytes: 2097152
            admin:
              apiKeys: ["0123456789abcdef0123"]
              urls: http://127.0.0.1:9090
            sources:
              yousign:
                kind: yousign
                path: /hooks/yousign
                secret: s
                ack: { status: 202, contentType: text/plain, body: OK }
                dedupeWindow: 4d
                routes:
                  - { target: crm, events: ["signature_request.*"], tags: [sandbox] }
              partner:
                kind: standard-webhooks
                path: /hooks/partner
                secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
                tolerance: 10m
                routes: [{ target: archive }]
              generic:
                kind: hmac
                path: /hooks/generic
                secret: s
                header: X-Sig
                algorithm: sha512
                encoding: base64
                prefix: "v1="
                template: "{id}.{timestamp}.{body}"
                timestampHeader: X-Ts
                tolerance: 5m
                idHeader: X-Id
                idField: data.id
                typeField: kind
                orderingField: data.order
                requireJson: true
              signicat:
                kind: signicat
                path: /hooks/signicat
                secret: s
                header: X-Signicat-Signature
                algorithm: sha256
                encoding: hex
                prefix: ""
                template: "{timestamp}.{body}"
                timestampHeader: X-Ts
                tolerance: 5m
                dropExpired: true
              alphatrust:
                kind: alphatrust
                path: /hooks/alphatrust/{token}
                token: tok-0123456789abcdef
                allowFrom: ["203.0.113.0/24", "2001:db8::/32"]
                verify: { url: "http://esign-check.internal/alphatrust", timeout: 5s }
                dedupeExclude: [ps_securitytoken]
                dedupeWindow: 1h
                ack: { body: RECEIVED }
              legalesign:
                kind: legalesign
                path: /hooks/legalesign
                certificate: legalesign.pem
                eventField: event
              sovos:
                kind: sovos-sse
                url: https://signer.example/events/v1/subscribe
                tokenUrl: https://accounts.example/oauth2/token
                clientId: id
                clientSecret: secret
                audience: signer.trust.sovos.com
                scope: notifications
                format: sse
                reconnect: { initialDelay: 1s, maxDelay: 60s }
                lease: { ttl: 10s }
                idleTimeout: 5m
                unhealthyAfter: 30s
                dedupeWindow: 7d
                routes: [{ target: crm, events: ["COMPLETED"] }]
            targets:
              crm:
                url: http://crm.internal/webhooks
                timeout: 10s
                concurrency: 16
                retry: { schedule: [5s, 30s, 2m], jitter: 0.2 }
                successBody: ok
                ordering: key
                onDeadLetter: block
              archive:
                url: http://archive.internal/esign
                signing: { secret: whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD }
            reverseProxy:
              routes:
                app: { clusterId: app, match: { path: "{**catch-all}" } }
              clusters:
                app: { destinations: { d1: { address: "http://127.0.0.1:5000" } } }
            Logging:
              LogLevel: { Relay: Debug }
            """, folder: folder);

        Assert.Empty(errors);
        Assert.Equal(7, snapshot!.Config.Sources.Count);
    }
}
