using System.Globalization;
using Relay.Configuration;
using Relay.Store;

namespace Relay.Admin;

/// <summary>
/// The search filters of <c>GET /admin/events</c>: <c>source</c>, <c>type</c> (a glob), <c>state</c> with an optional
/// <c>target</c>, <c>from</c>/<c>to</c> (ISO-8601 received-at; from inclusive, to exclusive) and <c>id</c> (an event
/// id or a vendor's own id). Bad input is a 400 that says what to send instead.
/// </summary>
internal static class EventSearchQuery
{
    /// <summary>The states a search may ask for: the stored ones and in-flight, but not "paused", a view of pending.</summary>
    private static readonly string[] SearchableStates =
        [.. Enum.GetValues<DeliveryState>().Select(s => s.Name())];

    public static bool TryRead(HttpRequest request, RelayConfig config, out EventQuery query, out IResult? problem)
    {
        query = new EventQuery();
        problem = null;
        string? Text(string name) => request.Query[name].ToString() is { Length: > 0 } value ? value : null;

        DeliveryState? state = null;
        if (Text("state") is { } stateText)
        {
            if (!DeliveryStateNames.TryParse(stateText, out var parsed))
            {
                problem = AdminProblems.BadRequest($"state '{stateText}' is not one of: {string.Join(", ", SearchableStates)}.");
                return false;
            }

            state = parsed;
        }

        var target = Text("target");
        if (target is not null && !config.Targets.ContainsKey(target))
        {
            problem = AdminProblems.BadRequest($"target '{target}' is not in the configuration; known: {string.Join(", ", config.Targets.Keys)}.");
            return false;
        }

        if (!TryReadTime(Text("from"), "from", out var from, out problem) || !TryReadTime(Text("to"), "to", out var to, out problem))
        {
            return false;
        }

        if (from is not null && to is not null && from >= to)
        {
            problem = AdminProblems.BadRequest("from must be before to.");
            return false;
        }

        query = new EventQuery(Text("source"), Text("type"), state, target, from, to, Text("id"));
        return true;
    }

    /// <summary>An ISO-8601 instant; one without an offset is taken as UTC.</summary>
    public static bool TryReadTime(string? text, string name, out DateTimeOffset? value, out IResult? problem)
    {
        value = null;
        problem = null;
        if (text is null)
        {
            return true;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            problem = AdminProblems.BadRequest($"{name} '{text}' is not an ISO-8601 date and time, e.g. 2026-12-01T09:30:00Z.");
            return false;
        }

        value = parsed;
        return true;
    }
}
