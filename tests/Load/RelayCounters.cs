using System.Globalization;

namespace Relay.Load;

/// <summary>Per-target queue depths as the relay reports them (relay_queue_depth, sampled from its store).</summary>
internal sealed record TargetDepth(long Ready, long InFlight, long Retrying, long Dead)
{
    /// <summary>Events the relay still owes this target: not yet delivered and not given up on.</summary>
    public long Pending => Ready + InFlight + Retrying;
}

/// <summary>
/// The relay's own counts, read from its Prometheus endpoint: ingress outcomes (accepted, unrouted, duplicate) and
/// per-target queue depths. The ledger compares them with what the harness sent and what the sinks received, so a
/// miscount on either side shows up. Also the acks' buckets of relay_ingress_ack_duration_seconds, the relay's own
/// timing of its acks (from the request's start in the relay to the ack), to set against the harness's.
/// </summary>
/// <param name="AckBuckets">Acks (accepted, unrouted, duplicate) per histogram bucket, by its <c>le</c> label (cumulative, as exported).</param>
internal sealed record RelayCounters(IReadOnlyDictionary<string, long> Ingress, IReadOnlyDictionary<string, TargetDepth> Targets, IReadOnlyDictionary<string, long> AckBuckets)
{
    private static readonly HashSet<string> Acked = ["accepted", "unrouted", "duplicate"];

    public static readonly RelayCounters None = new(new Dictionary<string, long>(), new Dictionary<string, TargetDepth>(), new Dictionary<string, long>());

    /// <summary>New events the relay stored (routed or not).</summary>
    public long NewEvents => Outcome("accepted") + Outcome("unrouted");

    public long Duplicates => Outcome("duplicate");

    public long Outcome(string outcome) => Ingress.GetValueOrDefault(outcome);

    public TargetDepth Target(string id) => Targets.GetValueOrDefault(id) ?? new TargetDepth(0, 0, 0, 0);

    /// <summary>Acks the relay timed at over <paramref name="le"/> seconds (a bucket bound it exports, e.g. "1").</summary>
    public long AcksOver(string le) => AckBuckets.GetValueOrDefault("+Inf") - AckBuckets.GetValueOrDefault(le);

    public static async Task<RelayCounters> ReadAsync(HttpClient client, Uri relay)
    {
        var text = await client.GetStringAsync(new Uri(relay, "/metrics")).ConfigureAwait(false);
        return Parse(text);
    }

    /// <summary>Reads the two metrics it needs from Prometheus text format; label order is not relied on.</summary>
    public static RelayCounters Parse(string text)
    {
        var ingress = new Dictionary<string, long>();
        var depths = new Dictionary<string, Dictionary<string, long>>();
        var ackBuckets = new Dictionary<string, long>();
        foreach (var line in text.Split('\n'))
        {
            if (!TryParseSample(line, out var name, out var labels, out var value))
            {
                continue;
            }

            if (name == "relay_ingress_requests_total" && labels.TryGetValue("outcome", out var outcome))
            {
                ingress[outcome] = ingress.GetValueOrDefault(outcome) + value;
            }
            else if (name == "relay_queue_depth" && labels.TryGetValue("target", out var target) && labels.TryGetValue("state", out var state))
            {
                (depths.TryGetValue(target, out var states) ? states : depths[target] = [])[state] = value;
            }
            else if (name == "relay_ingress_ack_duration_seconds_bucket" && labels.TryGetValue("outcome", out var acked) && Acked.Contains(acked) && labels.TryGetValue("le", out var le))
            {
                ackBuckets[le] = ackBuckets.GetValueOrDefault(le) + value;
            }
        }

        return new RelayCounters(
            ingress,
            depths.ToDictionary(d => d.Key, d => new TargetDepth(
                d.Value.GetValueOrDefault("ready"), d.Value.GetValueOrDefault("in_flight"), d.Value.GetValueOrDefault("retrying"), d.Value.GetValueOrDefault("dead"))),
            ackBuckets);
    }

    private static bool TryParseSample(string line, out string name, out Dictionary<string, string> labels, out long value)
    {
        name = "";
        labels = [];
        value = 0;
        if (line.Length == 0 || line[0] == '#')
        {
            return false;
        }

        // name{label="value",...} value [timestamp]
        var open = line.IndexOf('{', StringComparison.Ordinal);
        var close = open > 0 ? line.IndexOf('}', open) : -1;
        var nameEnd = open > 0 ? open : line.IndexOf(' ', StringComparison.Ordinal);
        if (nameEnd <= 0 || (open > 0 && close < 0))
        {
            return false;
        }

        name = line[..nameEnd];
        if (open > 0)
        {
            foreach (var pair in line[(open + 1)..close].Split("\",", StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0)
                {
                    labels[pair[..equals]] = pair[(equals + 1)..].Trim('"');
                }
            }
        }

        var sample = line[(open > 0 ? close + 1 : nameEnd)..].Trim().Split(' ')[0];
        if (!double.TryParse(sample, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        value = (long)number;
        return true;
    }
}
