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
    public void MatchTargets_EventAndTagFilters_EachTargetOnce()
    {
        RouteConfig[] routes =
        [
            new("crm", ["signature_request.*"], []),
            new("archive", [], []),
            new("crm", ["*"], []),
            new("sandbox-only", [], ["sandbox"]),
        ];

        var done = RouteTable.MatchTargets(routes, new IncomingEvent("k", "signature_request.done", [], "k"));
        var sandboxSigner = RouteTable.MatchTargets(routes, new IncomingEvent("k", "signer.done", ["sandbox"], "k"));

        Assert.Equal(["crm", "archive"], done);
        Assert.Equal(["archive", "crm", "sandbox-only"], sandboxSigner);
        Assert.Empty(RouteTable.MatchTargets([new("crm", ["x.*"], [])], new IncomingEvent("k", "y.z", [], "k")));
    }

    [Fact]
    public void MatchTargets_EventNotRouted_NoTargetsWhateverTheRoutes()
    {
        RouteConfig[] routes = [new("archive", [], []), new("crm", ["*"], ["expired"])];

        Assert.Empty(RouteTable.MatchTargets(routes, new IncomingEvent("k", "signature-api:order.completed", ["expired"], "k", Routed: false)));
        Assert.Equal(["archive", "crm"], RouteTable.MatchTargets(routes, new IncomingEvent("k", "signature-api:order.completed", ["expired"], "k")));
    }
}
