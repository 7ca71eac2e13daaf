using System.Globalization;

namespace Relay.Load.Search;

/// <summary>
/// One request of a query: its query string, the check of its answer (null when right, else what is wrong), and an
/// optional second check that needs another request, made after the clock stopped.
/// </summary>
internal sealed record SearchProbe(string Query, Func<EventPage, string?> Check, Func<EventPage, Task<string?>>? Confirm = null);

/// <summary>A query of the benchmark: its name, and a fresh request per sample (random parameters where it has some).</summary>
internal sealed record SearchQuery(string Name, Func<Random, SearchProbe> Next);

/// <summary>
/// The searches an operator runs, each with the check its answers must pass: non-empty where the seed put events,
/// every event matching the filter, newest first, and every event looking like the seeded one (known type and
/// source, routed to <c>crm</c>, and to <c>reject</c> exactly when it is a <see cref="SeedEvents.RejectedType"/>).
/// </summary>
internal static class SearchQueries
{
    public const string Crm = "crm";
    public const string Reject = "reject";

    /// <summary>The name of the deep-page measurement, which follows <c>next</c> and is run on its own.</summary>
    public const string DeepPage = "deep page: next ×10 from newest";

    private static readonly string Limit = "limit=" + SearchSettings.PageSize.ToString(CultureInfo.InvariantCulture);

    /// <param name="listed">Events taken from earlier listings, for the lookup by Relay's event id.</param>
    public static IReadOnlyList<SearchQuery> All(SeedEvents seed, AdminApi admin, IReadOnlyList<EventItem> listed) =>
    [
        new("newest page (limit=50)", _ => new SearchProbe(Limit, page =>
            Listing(page, Math.Min(SearchSettings.PageSize, seed.Acked), exact: true, _ => null))),

        new("by source (source=other)", _ => new SearchProbe($"source={SeedEvents.Other}&{Limit}", page =>
            Listing(page, seed.AckedOther, exact: false, e => e.Source == SeedEvents.Other ? null : $"source {e.Source}"))),

        new("by type glob (type=signer.*)", _ => new SearchProbe($"type={Uri.EscapeDataString("signer.*")}&{Limit}", page =>
            Listing(page, seed.Acked, exact: false, e => e.Type.StartsWith("signer.", StringComparison.Ordinal) ? null : $"type {e.Type}"))),

        new("dead at a target (state=dead&target=reject)", _ => new SearchProbe($"state=dead&target={Reject}&{Limit}", page =>
            Listing(page, seed.AckedRejected, exact: false, e => e.Targets.GetValueOrDefault(Reject) == "dead" ? null : $"{Reject} is {e.Targets.GetValueOrDefault(Reject)}"))),

        new("pending at crm in a 1-min window", random =>
        {
            var (from, to) = seed.RandomWindow(random, SearchSettings.Window);
            return new SearchProbe($"state=pending&target={Crm}&{Window(from, to)}&{Limit}", page =>
                Listing(page, seed.HoldsEventsBetween(from, to) ? 1 : 0, exact: false, e =>
                    InWindow(e, from, to) ?? (e.Targets.GetValueOrDefault(Crm) is "pending" or "paused" ? null : $"{Crm} is {e.Targets.GetValueOrDefault(Crm)}")));
        }),

        new("1-min window, no other filter", random =>
        {
            var (from, to) = seed.RandomWindow(random, SearchSettings.Window);
            return new SearchProbe($"{Window(from, to)}&{Limit}", page =>
                Listing(page, seed.HoldsEventsBetween(from, to) ? 1 : 0, exact: false, e => InWindow(e, from, to)));
        }),

        new("by vendor id (id=<event_id>)", random =>
        {
            var n = seed.RandomAcked(random);
            var vendorId = seed.VendorId(n);
            return new SearchProbe(
                "id=" + Uri.EscapeDataString(vendorId),
                page => One(page, e => e.Source == SeedEvents.Source(n) && e.Type == SeedEvents.Type(n) ? null : $"found {e.Source} {e.Type}, seeded {SeedEvents.Source(n)} {SeedEvents.Type(n)}"),
                async page => (await admin.EventBodyAsync(page.Events[0].Id).ConfigureAwait(false))?.Contains($"\"event_id\":\"{vendorId}\"", StringComparison.Ordinal) == true
                    ? null
                    : $"{page.Events[0].Id} is not the event with event_id {vendorId}");
        }),

        new("by Relay's event id (id=evt_...)", random =>
        {
            var known = listed[random.Next(listed.Count)];
            return new SearchProbe("id=" + Uri.EscapeDataString(known.Id), page =>
                One(page, e => e.Id == known.Id && e.Source == known.Source && e.Type == known.Type && e.ReceivedAt == known.ReceivedAt ? null : $"found {e.Id}, looked up {known.Id}"));
        }),
    ];

    /// <summary>
    /// What every listing must be: newest first (received-at, then id, both descending, as the cursor orders them),
    /// every event a seeded one matching <paramref name="filter"/>, and at least one event when
    /// <paramref name="expected"/> says some exist (exactly <paramref name="expected"/> when <paramref name="exact"/>).
    /// </summary>
    public static string? Listing(EventPage page, long expected, bool exact, Func<EventItem, string?> filter)
    {
        if (exact ? page.Events.Count != expected : expected > 0 && page.Events.Count == 0)
        {
            return $"{page.Events.Count} events, expected {(exact ? expected.ToString(CultureInfo.InvariantCulture) : "some")}";
        }

        for (var i = 0; i < page.Events.Count; i++)
        {
            var e = page.Events[i];
            if (i > 0 && !Older(e, page.Events[i - 1]))
            {
                return $"{e.Id} listed after the newer or equal {page.Events[i - 1].Id}";
            }

            if ((Seeded(e) ?? filter(e)) is { } wrong)
            {
                return $"{e.Id}: {wrong}";
            }
        }

        return null;
    }

    /// <summary>True when <paramref name="e"/> comes after <paramref name="before"/> in a newest-first listing.</summary>
    public static bool Older(EventItem e, EventItem before)
    {
        var byTime = e.ReceivedAt.CompareTo(before.ReceivedAt);
        return byTime < 0 || (byTime == 0 && string.CompareOrdinal(e.Id, before.Id) < 0);
    }

    /// <summary>Why <paramref name="e"/> cannot be a seeded event, or null.</summary>
    private static string? Seeded(EventItem e)
    {
        if (e.Source is not (SeedEvents.Yousign or SeedEvents.Other) || !SeedEvents.IsKnownType(e.Type))
        {
            return $"not a seeded event ({e.Source} {e.Type})";
        }

        if (!e.Targets.ContainsKey(Crm))
        {
            return $"not routed to {Crm}";
        }

        return e.Targets.ContainsKey(Reject) == (e.Type == SeedEvents.RejectedType) ? null : $"{e.Type} routed to {Reject}: {e.Targets.ContainsKey(Reject)}";
    }

    private static string? One(EventPage page, Func<EventItem, string?> check) =>
        page.Events.Count != 1 ? $"{page.Events.Count} events, expected exactly 1" : Seeded(page.Events[0]) ?? check(page.Events[0]);

    private static string? InWindow(EventItem e, DateTimeOffset from, DateTimeOffset to) =>
        e.ReceivedAt >= from && e.ReceivedAt < to ? null : $"received {Iso(e.ReceivedAt)}, outside [{Iso(from)}, {Iso(to)})";

    private static string Window(DateTimeOffset from, DateTimeOffset to) => $"from={Uri.EscapeDataString(Iso(from))}&to={Uri.EscapeDataString(Iso(to))}";

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
