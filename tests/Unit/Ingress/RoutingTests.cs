using System.Text;
using Relay.Configuration;
using Relay.Ingress;
using Relay.Sources;
using Relay.Tests.Conditions;

namespace Relay.Tests.Ingress;

public sealed class RoutingTests
{
    [Theory]
    [InlineData("signature_request.*", "signature_request.done", true)]
    [InlineData("signature_request.*", "signer.done", false)]
    [InlineData("signature-api:*", "signature-api:order.completed", true)]
    [InlineData("*.done", "signer.done", true)]
    [InlineData("*.done", "signer.done.later", false)]
    [InlineData("*", "", true)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxbyy", false)]
    [InlineData("COMPLETED", "COMPLETED", true)]
    [InlineData("COMPLETED", "completed", false)]
    [InlineData("**", "anything", true)]
    public void IsMatch_Glob_MatchesExpected(string glob, string value, bool expected) =>
        Assert.Equal(expected, EventTypeGlob.IsMatch(glob, value));

    [Fact]
    public void Match_EventAndTagFilters_EachTargetOnceAndEveryRouteDecisionKept()
    {
        RouteConfig[] routes =
        [
            new("crm", ["signature_request.*"], []),
            new("archive", [], []),
            new("crm", ["*"], []),
            new("sandbox-only", [], ["sandbox"]),
        ];

        var done = Match(routes, new IncomingEvent("k", "signature_request.done", [], "k"));
        var sandboxSigner = Match(routes, new IncomingEvent("k", "signer.done", ["sandbox"], "k"));

        Assert.Equal(["crm", "archive"], done.Targets);
        Assert.Equal([RouteVerdict.Matched, RouteVerdict.Matched, RouteVerdict.Matched, RouteVerdict.Tags], done.Decisions.Select(d => d.Verdict));
        Assert.Equal(["archive", "crm", "sandbox-only"], sandboxSigner.Targets);
        Assert.Equal(RouteVerdict.EventType, sandboxSigner.Decisions[0].Verdict);
        var none = Match([new("crm", ["x.*"], [])], new IncomingEvent("k", "y.z", [], "k"));
        Assert.Empty(none.Targets);
        Assert.Equal([new RouteDecision("crm", RouteVerdict.EventType)], none.Decisions);
    }

    [Fact]
    public void Match_EventNotRouted_NoTargetsWhateverTheRoutes()
    {
        RouteConfig[] routes = [new("archive", [], []), new("crm", ["*"], ["expired"])];

        var unrouted = Match(routes, new IncomingEvent("k", "signature-api:order.completed", ["expired"], "k", Routed: false));
        Assert.Empty(unrouted.Targets);
        Assert.All(unrouted.Decisions, d => Assert.Equal(RouteVerdict.Unrouted, d.Verdict));
        Assert.Equal(["archive", "crm"], Match(routes, new IncomingEvent("k", "signature-api:order.completed", ["expired"], "k")).Targets);
    }

    [Fact]
    public void Decisions_RoundTripAsTheStoreKeepsThem()
    {
        var match = Match([new("crm", ["a.*"], []), new("archive", [], [])], new IncomingEvent("k", "b.c", [], "k"));

        Assert.Equal("""[{"target":"crm","verdict":"eventType"},{"target":"archive","verdict":"matched"}]""", match.DecisionsJson);
        Assert.Equal(match.Decisions, RouteMatch.ParseDecisions(match.DecisionsJson));
        Assert.Empty(RouteMatch.ParseDecisions(null));
    }

    [Fact]
    public void Match_WhenConditions_FalseAndFailedAreNoMatchWithTheirReason()
    {
        RouteConfig[] routes =
        [
            new("crm", ["signature_request.*"], [], RouteConditionTests.Compile("body.data.signature_request.external_id.startsWith('crm-')")),
            new("erp", [], [], RouteConditionTests.Compile("body.data.signature_request.external_id.startsWith('erp-')")),
            new("audit", [], [], RouteConditionTests.Compile("body.data.missing == 'x'")),
            new("archive", ["signer.*"], [], RouteConditionTests.Compile("body.data.missing == 'x'")),
        ];
        var incoming = new IncomingEvent("k", "signature_request.done", [], "k");
        var input = new ConditionInput("yousign", incoming, RouteConditionTests.Origin("""{"data":{"signature_request":{"external_id":"crm-1"}}}""", "application/json"));

        var match = RouteTable.Match(routes, incoming, input);

        Assert.Equal(["crm"], match.Targets);
        Assert.Equal([RouteVerdict.Matched, RouteVerdict.When, RouteVerdict.WhenFailed, RouteVerdict.EventType], match.Decisions.Select(d => d.Verdict));
        Assert.Contains("missing", match.Decisions[2].Detail, StringComparison.Ordinal);
        Assert.Null(match.Decisions[1].Detail);
        Assert.Equal(1, input.Variables.BodyReads);
        Assert.Contains("\"verdict\":\"whenFailed\",\"detail\":", match.DecisionsJson, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_EventRefusedByEventsOrTags_ConditionNotEvaluated()
    {
        RouteConfig[] routes = [new("crm", ["signer.*"], [], RouteConditionTests.Compile("body.x == 1")), new("erp", [], ["vip"], RouteConditionTests.Compile("body.x == 1"))];
        var incoming = new IncomingEvent("k", "signature_request.done", [], "k");
        var input = new ConditionInput("yousign", incoming, RouteConditionTests.Origin("{}", "application/json"));

        var match = RouteTable.Match(routes, incoming, input);

        Assert.Equal([RouteVerdict.EventType, RouteVerdict.Tags], match.Decisions.Select(d => d.Verdict));
        Assert.Equal(0, input.Variables.BodyReads);
    }

    private static RouteMatch Match(IReadOnlyList<RouteConfig> routes, IncomingEvent incoming) =>
        RouteTable.Match(routes, incoming, new ConditionInput("yousign", incoming, new EventOrigin("POST", "", "application/json", [], Encoding.UTF8.GetBytes("{}"))));
}
