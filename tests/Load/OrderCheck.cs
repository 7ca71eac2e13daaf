using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Relay.Load;

/// <summary>One sink's share of an order check.</summary>
/// <param name="Deliveries">Deliveries of the step's events that reached the sink, redeliveries included.</param>
/// <param name="OutOfOrder">Acked events that first arrived after a later event of their key had arrived.</param>
/// <param name="Overlapping">Deliveries that began while another delivery of their key was still being answered.</param>
/// <param name="MaxInFlightPerKey">The most deliveries of one key the sink was answering at once.</param>
internal sealed record SinkOrder(string Sink, long Deliveries, long OutOfOrder, long Overlapping, long MaxInFlightPerKey);

/// <summary>A closed order check: per sink, what arrived out of order or overlapped, and, when the relay orders by key, every way it failed.</summary>
/// <param name="Enforced">The relay ran with <c>ordering: key</c>: anything out of order or overlapping is a failure; otherwise it is only reported.</param>
internal sealed record OrderResult(int Keys, bool Enforced, IReadOnlyList<SinkOrder> Sinks, IReadOnlyList<string> Problems)
{
    public bool Held => Problems.Count == 0;

    /// <summary>The console line under a step's ledger line, with the step's throughput and CPU cost.</summary>
    public string Line(StepResult step)
    {
        var sinks = string.Join(" | ", Sinks.Select(s => $"{s.Sink} {s.OutOfOrder} out of order, {s.Overlapping} overlapping (max {s.MaxInFlightPerKey} in flight per key)"));
        var verdict = !Enforced ? "reported only" : Held ? "held" : "FAILED: " + string.Join("; ", Problems);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"    order: {Keys} keys, ordering {(Enforced ? "key" : "off")}, {step.Ledger.EventsDeliveredPerSecond:0} events/s to all sinks, CPU {step.CpuMsPerEvent:0.00} ms/event | {sinks} | {verdict}");
    }
}

/// <summary>
/// Checks ordered delivery at the sinks during one step whose events share <see cref="Keys"/> ordering keys (Yousign
/// signature requests). The step's event <c>first + s × keys + k</c> is request <c>s</c> of key <c>k</c>; the load
/// (<see cref="ClosedModelLoad.RunPerKeyAsync"/>) sends a key's requests one at a time, so <c>s</c> is the order the
/// relay accepted them in. Each sink notes, per key, which events arrived in which order, and counts the deliveries of
/// a key it is answering at once: from the moment its handler has the request until the answer is decided. A relay
/// sends a key's next event only after reading the previous one's answer, which comes after that, so a count above 1
/// is a real overlap, never an artefact of timing. (The few microseconds between deciding the answer and writing it
/// are not watched, so an overlap that short would go unseen.)
/// </summary>
internal sealed class OrderCheck
{
    private readonly long _firstEvent;
    private readonly long _capacity;
    private readonly Book[] _sinks;

    /// <param name="sinks">The sinks, in the order <see cref="Entered"/> numbers them.</param>
    /// <param name="firstEvent">The step's first event number (its ledger's).</param>
    /// <param name="capacity">How many event numbers the step may use.</param>
    /// <param name="keys">Ordering keys the step's events are spread over.</param>
    /// <param name="enforced">Whether the relay runs with <c>ordering: key</c>.</param>
    public OrderCheck(IReadOnlyList<string> sinks, long firstEvent, long capacity, int keys, bool enforced)
    {
        _firstEvent = firstEvent;
        _capacity = capacity;
        Keys = keys;
        Enforced = enforced;
        _sinks = [.. sinks.Select(name => new Book(name, keys))];
    }

    public int Keys { get; }

    public bool Enforced { get; }

    /// <summary>The signature request (ordering key) of event <paramref name="eventNumber"/>, unique to this step.</summary>
    public string SignatureRequest(long eventNumber) =>
        string.Create(CultureInfo.InvariantCulture, $"sr-{_firstEvent}-{(eventNumber - _firstEvent) % Keys}");

    /// <summary>
    /// Sink number <paramref name="sink"/> begins answering <paramref name="request"/>; returns the event's key, to
    /// hand to <see cref="Left"/> once the answer is decided (-1 for an event of another step).
    /// </summary>
    public int Entered(int sink, HttpRequest request)
    {
        if (!long.TryParse(request.Headers[YousignCallbacks.EventHeader].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number < _firstEvent || number >= _firstEvent + _capacity)
        {
            return -1;
        }

        var index = number - _firstEvent;
        var key = (int)(index % Keys);
        var book = _sinks[sink];
        var inFlight = Interlocked.Increment(ref book.InFlight[key]);
        if (inFlight > 1)
        {
            Interlocked.Increment(ref book.Overlapping);
        }

        LoadRun.InterlockedMax(ref book.MaxInFlight, inFlight);
        var arrivals = book.Arrivals[key];
        lock (arrivals)
        {
            arrivals.Add(index / Keys);
        }

        return key;
    }

    /// <summary>Sink number <paramref name="sink"/> has decided its answer to a delivery of key <paramref name="key"/>.</summary>
    public void Left(int sink, int key)
    {
        if (key >= 0)
        {
            Interlocked.Decrement(ref _sinks[sink].InFlight[key]);
        }
    }

    /// <summary>
    /// Closes the check once the step has drained. Only events the relay acked count for order (an unacked one has no
    /// known place in its key's accept order); a repeat of an event that already arrived is a redelivery, which at
    /// least once allows, not a reordering.
    /// </summary>
    public OrderResult Close(Func<long, bool> acked)
    {
        var sinks = new List<SinkOrder>();
        var problems = new List<string>();
        foreach (var book in _sinks)
        {
            long deliveries = 0;
            long outOfOrder = 0;
            for (var key = 0; key < Keys; key++)
            {
                long[] arrived;
                lock (book.Arrivals[key])
                {
                    arrived = [.. book.Arrivals[key]];
                }

                var latest = -1L;
                var seen = new HashSet<long>();
                foreach (var sequence in arrived)
                {
                    deliveries++;
                    if (!acked(_firstEvent + (sequence * Keys) + key) || !seen.Add(sequence))
                    {
                        continue;
                    }

                    outOfOrder += sequence < latest ? 1 : 0;
                    latest = Math.Max(latest, sequence);
                }
            }

            var overlapping = Volatile.Read(ref book.Overlapping);
            var maxInFlight = Volatile.Read(ref book.MaxInFlight);
            sinks.Add(new SinkOrder(book.Name, deliveries, outOfOrder, overlapping, maxInFlight));
            if (Enforced && outOfOrder > 0)
            {
                problems.Add($"{book.Name}: {outOfOrder} events arrived after a later event of their ordering key");
            }

            if (Enforced && overlapping > 0)
            {
                problems.Add($"{book.Name}: {overlapping} deliveries began while another of their ordering key was in flight (up to {maxInFlight} at once)");
            }
        }

        return new OrderResult(Keys, Enforced, sinks, problems);
    }

    /// <summary>Per-sink bookkeeping; fields so they can be updated with Interlocked.</summary>
    private sealed class Book(string name, int keys)
    {
        public readonly string Name = name;
        public readonly long[] InFlight = new long[keys];
        public readonly List<long>[] Arrivals = [.. Enumerable.Range(0, keys).Select(_ => new List<long>())];
        public long Overlapping;
        public long MaxInFlight;
    }
}
