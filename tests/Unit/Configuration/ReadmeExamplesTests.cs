using System.Text;
using System.Text.RegularExpressions;
using Relay.Configuration;
using Relay.Ingress;
using Relay.Sources;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Configuration;

/// <summary>
/// The README's route condition examples are meant to be copied as they stand: every YAML block of its "Route
/// conditions" section must load through the config loader without a problem, one block per vendor kind, and the
/// two the README describes in words must route as it says.
/// </summary>
public sealed partial class ReadmeExamplesTests
{
    private static readonly Dictionary<string, string> Environment = new()
    {
        ["YOUSIGN_SECRET"] = "a-yousign-secret",
        ["ALPHATRUST_PATH_TOKEN"] = "an-alphatrust-path-token-0123456789",
        ["SIGNICAT_SECRET"] = "a-signicat-secret",
        ["SOVOS_CLIENT_ID"] = "relay",
        ["SOVOS_CLIENT_SECRET"] = "a-sovos-secret",
        ["BILLING_HMAC_SECRET"] = "a-billing-secret",
    };

    [Fact]
    public void Load_EveryRouteConditionExample_ValidWithAConditionAndOnePerVendor()
    {
        var kinds = new List<string>();
        foreach (var yaml in Examples())
        {
            var (snapshot, errors) = Load(yaml);

            Assert.True(errors.Count == 0, $"{string.Join("\n", errors)}\nin:\n{yaml}");
            var sources = snapshot!.Config.Sources.Values;
            Assert.Contains(sources.SelectMany(s => s.Routes), r => r.When is not null);
            kinds.AddRange(sources.Select(s => s.Kind));
        }

        Assert.Equal(["alphatrust", "hmac", "legalesign", "signicat", "sovos-sse", "yousign"], kinds.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("""{"event_id":"e","event_name":"signature_request.done","data":{"signature_request":{"id":"sr","external_id":"crm-7"}}}""", "crm,archive")]
    [InlineData("""{"event_id":"e","event_name":"signature_request.done","data":{"signature_request":{"id":"sr","external_id":"erp-7"}}}""", "archive")]
    [InlineData("""{"event_id":"e","event_name":"signature_request.done","data":{"signature_request":{"id":"sr","external_id":null}}}""", "archive")]
    [InlineData("""{"event_id":"e","event_name":"signature_request.done","data":{"signature_request":{"id":"sr"}}}""", "archive")]
    [InlineData("""{"event_id":"e","event_name":"signer.done","data":{"signature_request":{"id":"sr","external_id":"crm-7"}}}""", "archive")]
    public void Route_YousignExample_CrmTakesItsOwnSignatureRequestsOnly(string body, string targets)
    {
        var (snapshot, _) = Load(Examples().Single(e => e.Contains("kind: yousign", StringComparison.Ordinal)));
        var source = snapshot!.Config.Sources["yousign"];
        var incoming = new IncomingEvent("e", JsonBody.GetString(System.Text.Json.JsonDocument.Parse(body).RootElement, "event_name")!, [], "sr");

        var match = RouteTable.Match(source.Routes, incoming, new ConditionInput(source.Id, incoming, new EventOrigin("POST", "", "application/json", [], Encoding.UTF8.GetBytes(body))));

        Assert.Equal(targets, string.Join(",", match.Targets));
        Assert.DoesNotContain(match.Decisions, d => d.Verdict == RouteVerdict.WhenFailed);
        Assert.True(snapshot.Config.Targets["crm"].OrderedByKey);
    }

    [Theory]
    [InlineData("TransID=1&DocID=2&DocStatus=4&EventType=document", true)]
    [InlineData("TransID=1&DocID=2&DocStatus=2&EventType=document", false)]
    public void Route_AlphaTrustExample_ArchiveTakesDocStatus4(string form, bool archived)
    {
        var (snapshot, _) = Load(Examples().Single(e => e.Contains("kind: alphatrust", StringComparison.Ordinal)));
        var source = snapshot!.Config.Sources["alphatrust"];
        var incoming = new IncomingEvent("k", "document", [], "1");

        var match = RouteTable.Match(
            source.Routes, incoming, new ConditionInput(source.Id, incoming, new EventOrigin("POST", "", "application/x-www-form-urlencoded", [], Encoding.UTF8.GetBytes(form))));

        Assert.Equal(archived, match.Targets.Contains("archive"));
    }

    /// <summary>The YAML blocks of the README between its "Route conditions" heading and the next heading.</summary>
    private static List<string> Examples()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root(), "README.md"));
        var start = readme.IndexOf("#### Route conditions", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no Route conditions section");
        // The next heading of any level but the first; the examples' own comments start with "# ".
        var end = readme.IndexOf("\n##", start + 1, StringComparison.Ordinal);
        var examples = YamlBlock().Matches(readme[start..end]).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(examples);
        return examples;
    }

    /// <summary>A folder of its own per load (each writes relay.yaml there), with the one certificate copied in: making a key per load took seconds.</summary>
    private static (RelaySnapshot? Snapshot, IReadOnlyList<string> Errors) Load(string yaml)
    {
        var folder = new TestFolder().Path;
        File.Copy(Certificate.Value, Path.Combine(folder, "legalesign.pem"));
        return ConfigLoaderTests.Load(yaml, Environment, folder);
    }

    private static readonly Lazy<string> Certificate = new(() =>
    {
        using var signer = new RsaCallbackSigner(new TestFolder().Path);
        return signer.CertificatePath;
    });

    [GeneratedRegex("```yaml\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
