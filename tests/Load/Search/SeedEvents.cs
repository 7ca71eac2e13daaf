using System.Collections.Concurrent;
using System.Globalization;
using Relay.Tests.Infrastructure;

namespace Relay.Load.Search;

/// <summary>
/// The events the search benchmark seeds. Event number <c>n</c> alone fixes its source, type and Yousign
/// <c>event_id</c>, so a check knows what any seeded event must look like without keeping a million records. It also
/// books which events the relay acknowledged, and which seconds certainly hold some (sent and acked within the same
/// second), so a time-window query knows when an empty answer is wrong.
/// </summary>
internal sealed class SeedEvents
{
    public const string Yousign = "yousign";
    public const string Other = "other";
    public const string YousignPath = "/hooks/yousign";
    public const string OtherPath = "/hooks/other";
    public const string YousignSecret = "search-yousign-secret";
    public const string OtherSecret = "search-other-secret";

    /// <summary>The one type routed to the <c>reject</c> target, which answers 400: each such event ends dead there.</summary>
    public const string RejectedType = "signer.declined";

    /// <summary>Share of the events sent to the <c>other</c> source, in percent.</summary>
    private const int OtherPercent = 10;

    /// <summary>Ten Yousign event types and their share in percent (100 in all); <see cref="RejectedType"/> is 5%.</summary>
    private static readonly (string Type, int Percent)[] TypeMix =
    [
        ("signature_request.done", 14),
        ("signature_request.activated", 14),
        ("signature_request.expired", 4),
        ("signature_request.canceled", 4),
        ("signature_request.reminder_executed", 8),
        ("signer.done", 20),
        ("signer.declined", 5),
        ("signer.notified", 16),
        ("signer.link_opened", 10),
        ("approver.approved", 5),
    ];

    private static readonly string[] TypeByPercent = [.. TypeMix.SelectMany(t => Enumerable.Repeat(t.Type, t.Percent))];

    private readonly string _runId;
    private readonly long[] _acked;
    private readonly int[] _sentSecond;
    private readonly ConcurrentDictionary<int, long> _containedPerSecond = new();
    private readonly long _origin;
    private long _ackedCount;
    private long _ackedOther;
    private long _ackedRejected;
    private long _firstSent = long.MaxValue;
    private long _lastAcked;

    public SeedEvents(string runId, long count)
    {
        _runId = runId;
        Count = count;
        _acked = new long[(count + 63) / 64];
        _sentSecond = new int[count];
        _origin = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
    }

    /// <summary>Events to seed, numbered from 0.</summary>
    public long Count { get; }

    public long Acked => Interlocked.Read(ref _ackedCount);

    public long AckedOther => Interlocked.Read(ref _ackedOther);

    public long AckedRejected => Interlocked.Read(ref _ackedRejected);

    /// <summary>When the first event was sent; every seeded event was received at or after it.</summary>
    public DateTimeOffset FirstSent => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _firstSent));

    /// <summary>When the last ack arrived; every seeded event was received before it.</summary>
    public DateTimeOffset LastAcked => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _lastAcked));

    public static bool IsKnownType(string type) => TypeMix.Any(t => t.Type == type);

    public static string Source(long n) => Mix(n) / 100 % 100 < OtherPercent ? Other : Yousign;

    public static string Type(long n) => TypeByPercent[(int)(Mix(n) % 100)];

    /// <summary>Yousign's own id of the event (its dedupe key), unique across runs.</summary>
    public string VendorId(long n) => $"{_runId}-{n.ToString(CultureInfo.InvariantCulture)}";

    public bool WasAcked(long n) => (Volatile.Read(ref _acked[n >> 6]) & (1L << (int)(n & 63))) != 0;

    /// <summary>Event <paramref name="n"/> as Yousign sends it: signed with its source's secret, to its source's path.</summary>
    public HttpRequestMessage Create(long n)
    {
        var now = Now();
        _sentSecond[n] = (int)(now / 1000 - _origin);
        LoadRun.InterlockedMin(ref _firstSent, now);
        var number = n.ToString(CultureInfo.InvariantCulture);
        var body = Signing.YousignEvent(VendorId(n), Type(n), "sr-" + number);
        return Source(n) == Other
            ? Signing.YousignRequest(OtherPath, OtherSecret, body)
            : Signing.YousignRequest(YousignPath, YousignSecret, body);
    }

    public void Completed(long n, bool acked)
    {
        if (!acked)
        {
            return;
        }

        var now = Now();
        Interlocked.Or(ref _acked[n >> 6], 1L << (int)(n & 63));
        Interlocked.Increment(ref _ackedCount);
        if (Source(n) == Other)
        {
            Interlocked.Increment(ref _ackedOther);
        }

        if (Type(n) == RejectedType)
        {
            Interlocked.Increment(ref _ackedRejected);
        }

        LoadRun.InterlockedMax(ref _lastAcked, now);
        var second = _sentSecond[n];
        if (now / 1000 - _origin == second)
        {
            _containedPerSecond.AddOrUpdate(second, 1, static (_, c) => c + 1);
        }
    }

    /// <summary>
    /// True when some acked event was surely received in [<paramref name="from"/>, <paramref name="to"/>): it was sent
    /// and acked within one whole second inside the window.
    /// </summary>
    public bool HoldsEventsBetween(DateTimeOffset from, DateTimeOffset to) =>
        _containedPerSecond.Keys.Any(s => (_origin + s) * 1000 >= from.ToUnixTimeMilliseconds() && (_origin + s + 1) * 1000 <= to.ToUnixTimeMilliseconds());

    /// <summary>A random acked event's number; -1 when none was acked.</summary>
    public long RandomAcked(Random random)
    {
        if (Acked == 0)
        {
            return -1;
        }

        while (true)
        {
            var n = random.NextInt64(Count);
            if (WasAcked(n))
            {
                return n;
            }
        }
    }

    /// <summary>
    /// A random window of <paramref name="width"/> inside the seeding period (the whole period and more when seeding
    /// took less), at millisecond precision like the store's received-at.
    /// </summary>
    public (DateTimeOffset From, DateTimeOffset To) RandomWindow(Random random, TimeSpan width)
    {
        var first = Interlocked.Read(ref _firstSent);
        var slack = Math.Max(0, Interlocked.Read(ref _lastAcked) - first - (long)width.TotalMilliseconds);
        var from = first + random.NextInt64(slack + 1);
        return (DateTimeOffset.FromUnixTimeMilliseconds(from), DateTimeOffset.FromUnixTimeMilliseconds(from + (long)width.TotalMilliseconds));
    }

    /// <summary>SplitMix64 of the event number: the same source and type for <c>n</c> in every run, spread evenly.</summary>
    private static ulong Mix(long n)
    {
        var z = (ulong)n + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static long Now() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
}
