using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Relay.Faults;

/// <summary>One target's side of a closed ledger.</summary>
/// <param name="Delivered">Acked events that reached the target.</param>
/// <param name="Lost">Acked events that never reached it: the one number that must be zero.</param>
/// <param name="Redelivered">Deliveries beyond the first of one event under the same <c>webhook-id</c> (at least once: allowed, counted).</param>
/// <param name="DoubleStored">Events that arrived under two different <c>webhook-id</c>s: stored twice.</param>
/// <param name="UnackedDelivered">Events never acked (refused, or no answer) that arrived anyway: stored before the fault cut the answer off.</param>
/// <param name="LostIds">Up to ten lost vendor ids, with when each was acked, as evidence.</param>
internal sealed record TargetTally(
    string Target, long Delivered, long Lost, long Redelivered, long DoubleStored, long UnackedDelivered, long Strays, IReadOnlyList<string> LostIds);

/// <summary>What the vendor side saw, and every target's tally.</summary>
internal sealed record LedgerTotals(
    long Sent, long Acked, long Refused503, long NoAnswer, long OtherStatus, IReadOnlyDictionary<int, long> OtherStatuses, IReadOnlyList<TargetTally> Targets)
{
    public long Lost => Targets.Sum(t => t.Lost);

    public long DoubleStored => Targets.Sum(t => t.DoubleStored);

    public long Redelivered => Targets.Sum(t => t.Redelivered);

    public string Line()
    {
        var others = OtherStatus == 0 ? "" : $" other {OtherStatus} ({string.Join(", ", OtherStatuses.Select(s => $"{s.Key}: {s.Value}"))})";
        var targets = string.Join(" | ", Targets.Select(t =>
            $"{t.Target}: delivered {t.Delivered} lost {t.Lost} redelivered {t.Redelivered} double-stored {t.DoubleStored} unacked-delivered {t.UnackedDelivered}"
            + (t.Strays > 0 ? $" strays {t.Strays}" : "")));
        return $"sent {Sent} acked {Acked} refused-503 {Refused503} no-answer {NoAnswer}{others} || {targets}";
    }
}

/// <summary>
/// The books of one fault scenario, kept from both ends. The vendor side: every event the load sent (a vendor id of its
/// own, the Yousign <c>event_id</c>, also carried in <see cref="EventHeader"/>) and how the relay answered it: acked
/// (2xx), refused (503), no answer (connection refused or cut, timeout), or another status. The target side: every
/// delivery each target accepted, by vendor id and <c>webhook-id</c>. Closing it counts, per target, acked events that
/// never arrived (lost), redeliveries of one stored event (same <c>webhook-id</c>), and events stored twice (two
/// <c>webhook-id</c>s).
/// </summary>
internal sealed class FaultLedger
{
    /// <summary>The vendor id of a load event, in a vendor header the relay replays to targets unchanged.</summary>
    public const string EventHeader = "X-Fault-Event";

    private readonly long _origin = Stopwatch.GetTimestamp();
    private readonly ConcurrentDictionary<string, EventBook> _events = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConcurrentDictionary<string, DeliveryBook>> _targets;
    private long _lastArrival;
    private long _acked;

    public FaultLedger(IEnumerable<string> targets) =>
        _targets = targets.ToDictionary(t => t, _ => new ConcurrentDictionary<string, DeliveryBook>(StringComparer.Ordinal), StringComparer.Ordinal);

    public IReadOnlyCollection<string> Targets => _targets.Keys;

    /// <summary>Stopwatch ticks of the last delivery anywhere.</summary>
    public long LastArrival => Volatile.Read(ref _lastArrival);

    /// <summary>Events acked so far.</summary>
    public long Acked => Volatile.Read(ref _acked);

    /// <summary>Seconds since the ledger was opened: how report lines give times.</summary>
    public double Seconds(long timestamp) => Stopwatch.GetElapsedTime(_origin, timestamp).TotalSeconds;

    public double Now => Seconds(Stopwatch.GetTimestamp());

    public void Sent(string id, string via)
    {
        var book = _events.GetOrAdd(id, static _ => new EventBook());
        lock (book)
        {
            book.Requests++;
            book.Via ??= via;
            if (book.SentAt == 0)
            {
                book.SentAt = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>The relay's answer to one request for <paramref name="id"/>; null status when none came.</summary>
    public void Answered(string id, int? status, long at)
    {
        var book = _events[id];
        lock (book)
        {
            switch (status)
            {
                case >= 200 and < 300:
                    if (book.Acks++ == 0)
                    {
                        book.AckedAt = at;
                        Interlocked.Increment(ref _acked);
                    }

                    break;
                case 503:
                    book.Refused++;
                    break;
                case null:
                    book.NoAnswer++;
                    break;
                default:
                    book.Other ??= status;
                    break;
            }
        }
    }

    /// <summary>A delivery <paramref name="target"/> accepted.</summary>
    public void Arrived(string target, string id, string webhookId, long at)
    {
        var book = _targets[target].GetOrAdd(id, static _ => new DeliveryBook());
        lock (book)
        {
            book.Count++;
            if (book.FirstAt == 0)
            {
                book.FirstAt = at;
            }

            book.WebhookIds.Add(webhookId);
        }

        InterlockedMax(ref _lastArrival, at);
    }

    /// <summary>True when every event acked so far reached every target in <paramref name="targets"/> (all by default).</summary>
    public bool AllAckedDelivered(IEnumerable<string>? targets = null, long ackedBefore = long.MaxValue) =>
        (targets ?? _targets.Keys).All(t => MissingAt(t, ackedBefore) == 0);

    /// <summary>Acked events (acked before <paramref name="ackedBefore"/>, Stopwatch ticks) not yet at <paramref name="target"/>.</summary>
    public long MissingAt(string target, long ackedBefore = long.MaxValue)
    {
        var received = _targets[target];
        long missing = 0;
        foreach (var (id, book) in _events)
        {
            if (book.Acks > 0 && book.AckedAt < ackedBefore && !received.ContainsKey(id))
            {
                missing++;
            }
        }

        return missing;
    }

    /// <summary>When each acked event first reached <paramref name="target"/>, in seconds after its ack.</summary>
    public IReadOnlyList<double> DeliveryDelays(string target, long ackedFrom = 0, long ackedBefore = long.MaxValue)
    {
        var received = _targets[target];
        var delays = new List<double>();
        foreach (var (id, book) in _events)
        {
            if (book.Acks > 0 && book.AckedAt >= ackedFrom && book.AckedAt < ackedBefore && received.TryGetValue(id, out var delivery))
            {
                delays.Add(Stopwatch.GetElapsedTime(book.AckedAt, delivery.FirstAt).TotalSeconds);
            }
        }

        return delays;
    }

    /// <summary>Events acked within [<paramref name="from"/>, <paramref name="to"/>) (Stopwatch ticks).</summary>
    public long AckedBetween(long from, long to) => _events.Values.Count(b => b.Acks > 0 && b.AckedAt >= from && b.AckedAt < to);

    /// <summary>When the first event acked at or after <paramref name="from"/> was acked; null when none was.</summary>
    public long? FirstAckAfter(long from) =>
        _events.Values.Where(b => b.Acks > 0 && b.AckedAt >= from).Select(b => (long?)b.AckedAt).Min();

    /// <summary>How the relay answered the events first sent within [<paramref name="from"/>, <paramref name="to"/>): "2xx", "503", "no answer" or another status.</summary>
    public IReadOnlyDictionary<string, long> AnswersSentBetween(long from, long to) => _events.Values
        .Where(b => b.SentAt >= from && b.SentAt < to)
        .GroupBy(b => b.Acks > 0 ? "2xx" : b.Refused > 0 ? "503" : b.Other is { } other ? other.ToString(CultureInfo.InvariantCulture) : "no answer")
        .ToDictionary(g => g.Key, g => (long)g.Count());

    /// <summary>Events sent through <paramref name="via"/> (a relay's name) that were acked.</summary>
    public long AckedVia(string via) => _events.Values.Count(b => b.Acks > 0 && b.Via == via);

    /// <summary>
    /// Waits until every acked event has reached every target; or, when something is missing, until nothing has arrived
    /// for 12 s and <paramref name="relayIdle"/> says the relay has nothing left to deliver (the missing events are lost,
    /// not late), or nothing has arrived for <paramref name="stall"/>; or until <paramref name="limit"/>. Returns how
    /// long it waited.
    /// </summary>
    public async Task<TimeSpan> DrainAsync(TimeSpan limit, TimeSpan stall, Func<Task<bool>>? relayIdle = null)
    {
        var started = Stopwatch.GetTimestamp();
        while (!AllAckedDelivered() && Stopwatch.GetElapsedTime(started) < limit)
        {
            var quiet = Stopwatch.GetElapsedTime(Math.Max(LastArrival, started));
            if (quiet > stall || (quiet > TimeSpan.FromSeconds(12) && relayIdle is not null && await relayIdle().ConfigureAwait(false)))
            {
                break;
            }

            await Task.Delay(quiet > TimeSpan.FromSeconds(12) ? 1000 : 250).ConfigureAwait(false);
        }

        return Stopwatch.GetElapsedTime(started);
    }

    public LedgerTotals Close()
    {
        var events = _events.ToArray();
        var otherStatuses = events.Where(e => e.Value.Acks == 0 && e.Value.Other is not null)
            .GroupBy(e => e.Value.Other!.Value).ToDictionary(g => g.Key, g => (long)g.Count());
        var tallies = new List<TargetTally>();
        foreach (var (target, received) in _targets)
        {
            long delivered = 0, lost = 0, unackedDelivered = 0;
            var lostIds = new List<string>();
            foreach (var (id, book) in events)
            {
                var arrived = received.ContainsKey(id);
                if (book.Acks > 0 && arrived)
                {
                    delivered++;
                }
                else if (book.Acks > 0)
                {
                    lost++;
                    if (lostIds.Count < 10)
                    {
                        lostIds.Add(string.Create(CultureInfo.InvariantCulture, $"{id} (acked at {Seconds(book.AckedAt):0.000}s via {book.Via})"));
                    }
                }
                else if (arrived)
                {
                    unackedDelivered++;
                }
            }

            long redelivered = 0, doubleStored = 0;
            foreach (var book in received.Values)
            {
                var distinct = book.WebhookIds.Distinct(StringComparer.Ordinal).Count();
                redelivered += book.Count - distinct;
                doubleStored += distinct > 1 ? 1 : 0;
            }

            var strays = received.Keys.Count(id => !_events.ContainsKey(id));
            tallies.Add(new TargetTally(target, delivered, lost, redelivered, doubleStored, unackedDelivered, strays, lostIds));
        }

        return new LedgerTotals(
            events.Length,
            events.Count(e => e.Value.Acks > 0),
            events.Count(e => e.Value.Acks == 0 && e.Value.Refused > 0),
            events.Count(e => e.Value.Acks == 0 && e.Value.Refused == 0 && e.Value.Other is null && e.Value.NoAnswer > 0),
            otherStatuses.Values.Sum(),
            otherStatuses,
            tallies);
    }

    private static void InterlockedMax(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private sealed class EventBook
    {
        public int Requests;
        public int Acks;
        public int Refused;
        public int NoAnswer;
        public int? Other;
        public long SentAt;
        public long AckedAt;
        public string? Via;
    }

    private sealed class DeliveryBook
    {
        public readonly List<string> WebhookIds = [];
        public int Count;
        public long FirstAt;
    }
}
