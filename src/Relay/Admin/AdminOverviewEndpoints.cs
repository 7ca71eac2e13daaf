using Polly.CircuitBreaker;
using Relay.Configuration;
using Relay.Connectors;
using Relay.Dispatch;
using Relay.Ingress;
using Relay.Store;

namespace Relay.Admin;

/// <summary>
/// What the console's overview and sources pages show, for the whole cluster: per-minute counts, queue depths and lag,
/// delivery success and latency, circuits and stream connectors, all read from the store (never from Prometheus).
/// </summary>
internal static class AdminOverviewEndpoints
{
    private const int DefaultMinutes = 15;
    private const int MaxMinutes = 60;

    /// <summary>4xx answers the overview counts as bad_request besides bad_request itself.</summary>
    private static readonly string[] OtherClientErrors =
        [.. new[] { IngestOutcome.UnsupportedMediaType, IngestOutcome.MethodNotAllowed, IngestOutcome.TooLarge }.Select(IngestSpan.MetricName)];

    /// <summary>Delivery outcomes that count as attempts; "delivered" is the successful one.</summary>
    private static readonly string[] AttemptOutcomes =
        [.. new[] { DeliveryOutcome.Delivered, DeliveryOutcome.Retry, DeliveryOutcome.Reject, DeliveryOutcome.Quarantined }.Select(o => o.ToString().ToLowerInvariant())];

    public static void MapOverviewEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/overview", OverviewAsync);
        admin.MapGet("/sources", SourcesAsync);
    }

    private static async Task<IResult> OverviewAsync(HttpRequest request, [AsParameters] OverviewServices services)
    {
        var minutes = DefaultMinutes;
        var text = request.Query["minutes"].ToString();
        if (text.Length > 0 && (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out minutes) || minutes is < 1 or > MaxMinutes))
        {
            return AdminProblems.BadRequest($"minutes must be a whole number from 1 to {MaxMinutes}; got '{text}'.");
        }

        var config = services.ConfigProvider.Current;
        var counts = await services.Counters.ReadAsync(minutes).ConfigureAwait(false);
        var targetIds = config.Config.Targets.Keys.Order(StringComparer.Ordinal).ToArray();
        var depths = await Task.WhenAll(targetIds.Select(services.Store.CountAsync)).ConfigureAwait(false);
        var lags = await Task.WhenAll(targetIds.Select(services.Store.LagAsync)).ConfigureAwait(false);
        var paused = await services.Listing.PausedTargetsAsync().ConfigureAwait(false);
        var circuits = await services.Reports.CircuitsAsync().ConfigureAwait(false);
        var connectorSources = config.Connectors.Select(c => c.Config.Id).ToArray();
        var connectorReports = await services.Reports.ConnectorsAsync(connectorSources).ConfigureAwait(false);

        var sources = config.Config.Sources.Values.OrderBy(s => s.Id, StringComparer.Ordinal).Select(source => new SourceOverviewView(
            source.Id, source.Kind, [.. counts.Select(c => Outcomes(c.At, [c], source.Id))], Outcomes(null, counts, source.Id)));
        var targets = targetIds.Select((id, i) =>
        {
            var attempts = counts.Sum(c => AttemptOutcomes.Sum(o => c.Deliveries(id, o)));
            var delivered = counts.Sum(c => c.Deliveries(id, AttemptOutcomes[0]));
            var durations = Enumerable.Range(0, MinuteCounters.DurationBucketsMs.Count).Select(b => counts.Sum(c => c.Durations(id)[b])).ToArray();
            return new TargetOverviewView(
                id, depths[i].Ready, depths[i].InFlight, depths[i].Retrying, depths[i].Dead, Math.Round(lags[i].TotalSeconds, 1),
                attempts, attempts == 0 ? null : Math.Round((double)delivered / attempts, 4), MinuteCounts.Quantile(durations, 0.95),
                CircuitOf(id, circuits, services.Dispatch), paused.Contains(id));
        });
        var connectors = connectorSources.Select(source =>
        {
            var kind = config.Config.Sources[source].Kind;
            var report = connectorReports.FirstOrDefault(r => r.Source == source);
            var local = services.Connectors.Connectors.FirstOrDefault(c => c.State.Source == source)?.State.Status;
            return report is not null
                ? new ConnectorOverviewView(source, kind, report.Connected, report.Holder, report.LastEventAt, report.EventsReceived, report.Reconnects, report.LastError)
                : new ConnectorOverviewView(source, kind, false, local?.LeaseHolder, local?.LastEventAt, local?.EventsReceived ?? 0, local?.Reconnects ?? 0, local?.LastError);
        });
        return TypedResults.Json(
            new OverviewView(services.Time.GetUtcNow(), minutes, [.. sources], [.. targets], [.. connectors]), AdminJson.Readable.OverviewView);
    }

    private static async Task<IResult> SourcesAsync(RelayConfigProvider configProvider, MinuteCounters counters)
    {
        var config = configProvider.Current.Config;
        var lastHour = await counters.ReadAsync(MaxMinutes).ConfigureAwait(false);
        var sources = config.Sources.Values.OrderBy(s => s.Id, StringComparer.Ordinal).Select(s => new SourceView(
            s.Id, s.Kind, s.Path, Durations.Format(s.DedupeWindow), [.. s.Routes.Select(r => new RouteView(r.Target, r.Events, r.Tags, r.When?.Text))], Outcomes(null, lastHour, s.Id)));
        return TypedResults.Json(new SourceListView([.. sources]), AdminJson.Readable.SourceListView);
    }

    private static OutcomeCountsView Outcomes(DateTimeOffset? at, IReadOnlyList<MinuteCounts> counts, string source)
    {
        long Sum(IngestOutcome outcome) => counts.Sum(c => c.Ingest(source, IngestSpan.MetricName(outcome)));
        return new OutcomeCountsView(
            at,
            Sum(IngestOutcome.Accepted),
            Sum(IngestOutcome.Duplicate),
            Sum(IngestOutcome.Unauthorized),
            Sum(IngestOutcome.BadRequest) + counts.Sum(c => OtherClientErrors.Sum(o => c.Ingest(source, o))),
            Sum(IngestOutcome.Unavailable),
            Sum(IngestOutcome.Unrouted));
    }

    /// <summary>The worst state any live replica reports for the target (open, then half-open); this replica's when none reported.</summary>
    private static string CircuitOf(string target, IReadOnlyList<CircuitReport> reports, DispatchService dispatch)
    {
        var states = reports.Where(r => r.Target == target).Select(r => r.State).ToHashSet(StringComparer.Ordinal);
        if (states.Count == 0)
        {
            return dispatch.CircuitOf(target) switch
            {
                CircuitState.Closed => "closed",
                CircuitState.Open => "open",
                CircuitState.HalfOpen => "half-open",
                _ => "unknown",
            };
        }

        return states.Contains("open") ? "open" : states.Contains("half-open") ? "half-open" : states.Contains("closed") ? "closed" : states.First();
    }
}

/// <summary>What the overview reads, bound by the minimal API from services.</summary>
internal readonly record struct OverviewServices(
    RelayConfigProvider ConfigProvider,
    MinuteCounters Counters,
    EventStore Store,
    EventListing Listing,
    ClusterReports Reports,
    DispatchService Dispatch,
    ConnectorHost Connectors,
    TimeProvider Time);
