using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using Relay.Tests.Infrastructure;

namespace Relay.Load;

/// <summary>One sink's share of a ledger: how each event arrived there.</summary>
internal sealed record SinkTally(string Sink, long Delivered, long Missing, long Redelivered, long DoubleAccepted, long Unexpected, long Dead, LatencyStats Latency);

/// <summary>A closed ledger: the counts from both sides and every way they failed to agree.</summary>
/// <param name="RelayOutcomes">The relay's webhook requests during the step by outcome (accepted, late, overloaded, ...).</param>
internal sealed record LedgerResult(
    long SentEvents,
    long Requests,
    long AckedEvents,
    long RelayNewEvents,
    long RelayDuplicates,
    long Pending,
    long StrayArrivals,
    IReadOnlyList<SinkTally> Sinks,
    LatencyStats? AllSinks,
    double? EventsDeliveredPerSecond,
    IReadOnlyDictionary<string, long> RelayOutcomes,
    IReadOnlyList<string> Problems)
{
    public bool Balanced => Problems.Count == 0;
}

/// <summary>
/// The accounts of one load step. Every event gets a number (carried in <see cref="YousignCallbacks.EventHeader"/>, which the
/// relay replays like any vendor header); the ledger notes when each was scheduled, whether it was acknowledged, and
/// every arrival at every sink. Closing it compares sent, acked and delivered per sink with the relay's own counts
/// (new events, duplicates, dead letters, queue depths): at least once means every acked event reaches every sink,
/// redeliveries of one stored event (same webhook-id) are counted apart, and an event arriving under two different
/// webhook-ids means a duplicate was accepted twice, which fails the ledger.
/// </summary>
internal sealed class Ledger
{
    private readonly long[] _sentAt;
    private readonly int[] _acks;
    private readonly int[] _sinksReached;
    private readonly Book[] _sinks;
    private readonly LongConcurrentHistogram _allSinks = LatencyReport.NewHistogram();
    private long _requests;
    private long _ackedEvents;
    private long _okRequests;
    private long _failedRequests;
    private long _stray;
    private long _lastArrival;
    private long _lastAllSinks;
    private long _firstSent = long.MaxValue;

    /// <param name="sinks">The sinks, in the order <see cref="Arrived"/> numbers them.</param>
    /// <param name="firstEvent">This step's first event number; numbers are unique across a whole run.</param>
    /// <param name="capacity">How many event numbers the step may use.</param>
    /// <param name="expectsDeliveries">False for events that route to no target: any arrival is then an error.</param>
    public Ledger(IReadOnlyList<string> sinks, long firstEvent, long capacity, bool expectsDeliveries)
    {
        FirstEvent = firstEvent;
        Capacity = capacity;
        ExpectsDeliveries = expectsDeliveries;
        _sentAt = new long[capacity];
        _acks = new int[capacity];
        _sinksReached = expectsDeliveries ? new int[capacity] : [];
        _sinks = [.. sinks.Select(name => new Book(name, expectsDeliveries ? capacity : 0))];
    }

    public long FirstEvent { get; }

    public long Capacity { get; }

    public bool ExpectsDeliveries { get; }

    /// <summary>When the last delivery arrived (Stopwatch ticks), to tell a finished drain from a stalled one.</summary>
    public long LastArrival => Volatile.Read(ref _lastArrival);

    /// <summary>Cheap running check for the drain loop: every sink has as many events as were acked.</summary>
    public bool AllAckedDelivered
    {
        get
        {
            var acked = Volatile.Read(ref _ackedEvents);
            return _sinks.All(s => Volatile.Read(ref s.Delivered) >= acked);
        }
    }

    /// <summary>A request for event <paramref name="eventNumber"/> is going out; the first send's due time is kept.</summary>
    public void Sent(long eventNumber, long scheduled)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.CompareExchange(ref _sentAt[eventNumber - FirstEvent], scheduled, 0);
        if (scheduled < Volatile.Read(ref _firstSent))
        {
            InterlockedMin(ref _firstSent, scheduled);
        }
    }

    public void Acknowledged(long eventNumber, bool ok)
    {
        if (!ok)
        {
            Interlocked.Increment(ref _failedRequests);
            return;
        }

        Interlocked.Increment(ref _okRequests);
        if (Interlocked.Increment(ref _acks[eventNumber - FirstEvent]) == 1)
        {
            Interlocked.Increment(ref _ackedEvents);
        }
    }

    /// <summary>Whether event <paramref name="eventNumber"/> of this step was acknowledged at least once.</summary>
    public bool IsAcked(long eventNumber) =>
        eventNumber >= FirstEvent && eventNumber < FirstEvent + Capacity && Volatile.Read(ref _acks[eventNumber - FirstEvent]) > 0;

    /// <summary>Records a delivery at sink number <paramref name="sink"/>; deliveries of other steps' events are counted as stray.</summary>
    public void Arrived(int sink, Arrival arrival)
    {
        if (!long.TryParse(arrival.Header(YousignCallbacks.EventHeader), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number < FirstEvent || number >= FirstEvent + Capacity)
        {
            Interlocked.Increment(ref _stray);
            return;
        }

        LoadRun.InterlockedMax(ref _lastArrival, arrival.Timestamp);
        var book = _sinks[sink];
        if (!ExpectsDeliveries)
        {
            Interlocked.Increment(ref book.UnexpectedArrivals);
            return;
        }

        var index = number - FirstEvent;
        var webhookId = arrival.Header("webhook-id");
        var firstId = Interlocked.CompareExchange(ref book.WebhookIds[index], webhookId, null);
        if (firstId is not null)
        {
            // Same webhook-id: the relay redelivered one stored event (allowed, at least once). A different one: the
            // same vendor event was stored twice, which dedupe exists to prevent.
            if (firstId == webhookId)
            {
                Interlocked.Increment(ref book.Redelivered);
            }
            else
            {
                Interlocked.Increment(ref book.DoubleAccepted);
            }

            return;
        }

        Interlocked.Increment(ref book.Delivered);
        var sentAt = Volatile.Read(ref _sentAt[index]);
        book.Latency.RecordValue(Micros(sentAt, arrival.Timestamp));
        if (Interlocked.Increment(ref _sinksReached[index]) == _sinks.Length)
        {
            _allSinks.RecordValue(Micros(sentAt, arrival.Timestamp));
            LoadRun.InterlockedMax(ref _lastAllSinks, arrival.Timestamp);
        }
    }

    /// <summary>Closes the books against the relay's counters taken before the step and after the drain.</summary>
    public LedgerResult Close(RelayCounters before, RelayCounters after)
    {
        var problems = new List<string>();
        var sent = _sentAt.LongCount(t => t != 0);
        if (sent == 0)
        {
            // An empty step proves nothing; it must not count as a balanced ledger.
            problems.Add("no events were sent");
        }

        var acked = Volatile.Read(ref _ackedEvents);
        var tallies = new List<SinkTally>();
        long pending = 0;
        foreach (var book in _sinks)
        {
            var dead = after.Target(book.Name).Dead - before.Target(book.Name).Dead;
            var depth = after.Target(book.Name).Pending;
            pending += depth;
            long missing = 0;
            long unexpected = book.UnexpectedArrivals;
            for (var i = 0; ExpectsDeliveries && i < Capacity; i++)
            {
                var delivered = book.WebhookIds[i] is not null;
                missing += _acks[i] > 0 && !delivered ? 1 : 0;
                unexpected += _sentAt[i] != 0 && _acks[i] == 0 && delivered ? 1 : 0;
            }

            tallies.Add(new SinkTally(book.Name, book.Delivered, missing, book.Redelivered, book.DoubleAccepted, unexpected, dead, LatencyStats.From(book.Latency)));
            if (missing > 0)
            {
                problems.Add($"{book.Name}: {missing} acked events never arrived ({dead} dead-lettered, {depth} still queued)");
            }
            else if (dead > 0)
            {
                problems.Add($"{book.Name}: {dead} events dead-lettered");
            }

            if (book.DoubleAccepted > 0)
            {
                problems.Add($"{book.Name}: {book.DoubleAccepted} events delivered again under a different webhook-id (a duplicate was accepted)");
            }

            if (!ExpectsDeliveries && book.UnexpectedArrivals > 0)
            {
                problems.Add($"{book.Name}: {book.UnexpectedArrivals} deliveries of events that route to no target");
            }
        }

        if (pending > 0)
        {
            problems.Add($"the relay still reports {pending} events queued, in flight or retrying");
        }

        var relayNew = after.NewEvents - before.NewEvents;
        var relayDuplicates = after.Duplicates - before.Duplicates;
        var failed = Volatile.Read(ref _failedRequests);
        if (relayNew < acked || relayNew > sent)
        {
            problems.Add($"the relay counted {relayNew} new events; {acked} were acked and {sent} sent");
        }
        else if (failed == 0 && relayNew != acked)
        {
            problems.Add($"every request was acked, yet the relay counted {relayNew} new events for {acked} acked");
        }

        // Every acked repeat of an already acked event must be a duplicate on the relay's side, not a new event.
        var repeatsAcked = Volatile.Read(ref _okRequests) - acked;
        if (failed == 0 && relayDuplicates != repeatsAcked)
        {
            problems.Add($"{repeatsAcked} repeats were acked, yet the relay counted {relayDuplicates} duplicates");
        }

        var firstSent = Volatile.Read(ref _firstSent);
        var lastAll = Volatile.Read(ref _lastAllSinks);
        double? perSecond = ExpectsDeliveries && lastAll > firstSent
            ? _allSinks.TotalCount / Stopwatch.GetElapsedTime(firstSent, lastAll).TotalSeconds
            : null;
        return new LedgerResult(
            sent, Volatile.Read(ref _requests), acked, relayNew, relayDuplicates, pending, Volatile.Read(ref _stray), tallies,
            ExpectsDeliveries ? LatencyStats.From(_allSinks) : null, perSecond,
            after.Ingress.ToDictionary(o => o.Key, o => o.Value - before.Outcome(o.Key)), problems);
    }

    private static long Micros(long from, long to) => Math.Max(1, (long)Stopwatch.GetElapsedTime(from, to).TotalMicroseconds);

    private static void InterlockedMin(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (value < current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Per-sink bookkeeping; fields so they can be updated with Interlocked.</summary>
    private sealed class Book(string name, long capacity)
    {
        public readonly string Name = name;
        public readonly string?[] WebhookIds = new string?[capacity];
        public readonly LongConcurrentHistogram Latency = LatencyReport.NewHistogram();
        public long Delivered;
        public long Redelivered;
        public long DoubleAccepted;
        public long UnexpectedArrivals;
    }
}
