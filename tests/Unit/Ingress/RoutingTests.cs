using Relay.Configuration;
using Relay.Ingress;
using Relay.Sources;

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

        var done = RouteTable.Match(routes, new IncomingEvent("k", "signature_request.done", [], "k"));
        var sandboxSigner = RouteTable.Match(routes, new IncomingEvent("k", "signer.done", ["sandbox"], "k"));

        Assert.Equal(["crm", "archive"], done.Targets);
        Assert.Equal([RouteVerdict.Matched, RouteVerdict.Matched, RouteVerdict.Matched, RouteVerdict.Tags], done.Decisions.Select(d => d.Verdict));
        Assert.Equal(["archive", "crm", "sandbox-only"], sandboxSigner.Targets);
        Assert.Equal(RouteVerdict.EventType, sandboxSigner.Decisions[0].Verdict);
        var none = RouteTable.Match([new("crm", ["x.*"], [])], new IncomingEvent("k", "y.z", [], "k"));
        Assert.Empty(none.Targets);
        Assert.Equal([new RouteDecision("crm", RouteVerdict.EventType)], none.Decisions);
    }

    [Fact]
    public void Match_EventNotRouted_NoTargetsWhateverTheRoutes()
    {
        RouteConfig[] routes = [new("archive", [], []), new("crm", ["*"], ["expired"])];

        var unrouted = RouteTable.Match(routes, new IncomingEvent("k", "signature-api:order.completed", ["expired"], "k", Routed: false));
        Assert.Empty(unrouted.Targets);
        Assert.All(unrouted.Decisions, d => Assert.Equal(RouteVerdict.Unrouted, d.Verdict));
        Assert.Equal(["archive", "crm"], RouteTable.Match(routes, new IncomingEvent("k", "signature-api:order.completed", ["expired"], "k")).Targets);
    }

    [Fact]
    public void Decisions_RoundTripAsTheStoreKeepsThem()
    {
        var match = RouteTable.Match([new("crm", ["a.*"], []), new("archive", [], [])], new IncomingEvent("k", "b.c", [], "k"));

        Assert.Equal("""[{"target":"crm","verdict":"eventType"},{"target":"archive","verdict":"matched"}]""", match.DecisionsJson);
        Assert.Equal(match.Decisions, RouteMatch.ParseDecisions(match.DecisionsJson));
        Assert.Empty(RouteMatch.ParseDecisions(null));
    }
}
