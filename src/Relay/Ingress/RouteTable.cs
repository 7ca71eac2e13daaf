using Relay.Configuration;
using Relay.Sources;

namespace Relay.Ingress;

/// <summary>Decides, once at accept time, which targets an event goes to.</summary>
internal static class RouteTable
{
    public static IReadOnlyList<string> MatchTargets(IReadOnlyList<RouteConfig> routes, IncomingEvent incoming)
    {
        if (!incoming.Routed)
        {
            return [];
        }

        List<string>? targets = null;
        foreach (var route in routes)
        {
            if (Matches(route, incoming) && !(targets?.Contains(route.Target) ?? false))
            {
                (targets ??= []).Add(route.Target);
            }
        }

        return targets ?? (IReadOnlyList<string>)[];
    }

    private static bool Matches(RouteConfig route, IncomingEvent incoming) =>
        (route.Events.Count == 0 || route.Events.Any(glob => EventTypeGlob.IsMatch(glob, incoming.Type)))
        && (route.Tags.Count == 0 || route.Tags.Any(tag => incoming.Tags.Contains(tag)));
}
