using System.Text.Json;
using System.Text.Json.Serialization;
using Relay.Conditions;
using Relay.Configuration;
using Relay.Sources;

namespace Relay.Ingress;

/// <summary>Why a route did, or did not, send an event to its target.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RouteVerdict>))]
internal enum RouteVerdict
{
    [JsonStringEnumMemberName("matched")]
    Matched,

    /// <summary>The event type matched none of the route's <c>events</c> globs.</summary>
    [JsonStringEnumMemberName("eventType")]
    EventType,

    /// <summary>The event carried none of the route's <c>tags</c>.</summary>
    [JsonStringEnumMemberName("tags")]
    Tags,

    /// <summary>The route's <c>when</c> condition was false.</summary>
    [JsonStringEnumMemberName("when")]
    When,

    /// <summary>The route's <c>when</c> condition failed to evaluate (e.g. a missing field): no match.</summary>
    [JsonStringEnumMemberName("whenFailed")]
    WhenFailed,

    /// <summary>The source kind kept the event without routing it (e.g. it expired before it arrived).</summary>
    [JsonStringEnumMemberName("unrouted")]
    Unrouted,
}

/// <summary>One route's decision about one event, kept with the event so an operator sees why it went (or not) somewhere.</summary>
/// <param name="Detail">For <see cref="RouteVerdict.WhenFailed"/>, what failed.</param>
internal sealed record RouteDecision(string Target, RouteVerdict Verdict, string? Detail = null)
{
    [JsonIgnore]
    public bool Matched => Verdict == RouteVerdict.Matched;
}

/// <summary>The targets an event goes to (each once, in route order), and every route's decision.</summary>
internal sealed record RouteMatch(IReadOnlyList<string> Targets, IReadOnlyList<RouteDecision> Decisions)
{
    /// <summary>The decisions as compact JSON, as the store keeps them.</summary>
    public string DecisionsJson => JsonSerializer.Serialize(Decisions, RouteJson.Default.IReadOnlyListRouteDecision);

    /// <summary>Decisions read back from the store; empty for an event accepted before they were kept.</summary>
    public static IReadOnlyList<RouteDecision> ParseDecisions(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize(json, RouteJson.Default.IReadOnlyListRouteDecision) ?? [];
}

/// <summary>
/// Decides, once at accept time, which targets an event goes to. A route's <c>when</c> is evaluated only when its
/// <c>events</c> and <c>tags</c> let the event through, over data shared by the event's routes (<see cref="ConditionInput"/>).
/// </summary>
internal static class RouteTable
{
    public static RouteMatch Match(IReadOnlyList<RouteConfig> routes, IncomingEvent incoming, ConditionInput input)
    {
        var decisions = new RouteDecision[routes.Count];
        List<string>? targets = null;
        for (var i = 0; i < routes.Count; i++)
        {
            var route = routes[i];
            decisions[i] = incoming.Routed ? Decide(route, incoming, input) : new RouteDecision(route.Target, RouteVerdict.Unrouted);
            if (decisions[i].Matched && !(targets?.Contains(route.Target) ?? false))
            {
                (targets ??= []).Add(route.Target);
            }
        }

        return new RouteMatch(targets ?? (IReadOnlyList<string>)[], decisions);
    }

    private static RouteDecision Decide(RouteConfig route, IncomingEvent incoming, ConditionInput input)
    {
        if (!(route.Events.Count == 0 || route.Events.Any(glob => EventTypeGlob.IsMatch(glob, incoming.Type))))
        {
            return new(route.Target, RouteVerdict.EventType);
        }

        if (!(route.Tags.Count == 0 || route.Tags.Any(tag => incoming.Tags.Contains(tag))))
        {
            return new(route.Target, RouteVerdict.Tags);
        }

        var outcome = route.When?.Evaluate(input.Variables) ?? new ConditionOutcome(ConditionVerdict.True);
        return outcome.Verdict switch
        {
            ConditionVerdict.True => new(route.Target, RouteVerdict.Matched),
            ConditionVerdict.False => new(route.Target, RouteVerdict.When),
            _ => new(route.Target, RouteVerdict.WhenFailed, outcome.Detail),
        };
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<RouteDecision>))]
internal sealed partial class RouteJson : JsonSerializerContext;
