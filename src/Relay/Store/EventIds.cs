using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Store;

/// <summary>
/// Event ids look like <c>evt_01JDXAMPLE7Q2Z4N0TTM5GC8WB_7</c>: a ULID (time-ordered, 80 random bits) and the
/// store partition, so any id leads straight to its keys without a lookup.
/// The id is the <c>webhook-id</c> targets see, stable across our redeliveries.
/// </summary>
internal static class EventIds
{
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New(int partition, DateTimeOffset now)
    {
        // ULID layout: 48 bits of unix milliseconds, then 80 random bits, written as 26 Crockford base32 digits.
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, (ulong)now.ToUnixTimeMilliseconds() << 16);
        RandomNumberGenerator.Fill(bytes[6..]);
        var value = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        Span<char> ulid = stackalloc char[26];
        for (var i = 25; i >= 0; i--)
        {
            ulid[i] = Crockford[(int)(value & 31)];
            value >>= 5;
        }

        return $"evt_{ulid}_{partition}";
    }

    public static bool TryGetPartition(string id, int partitions, out int partition)
    {
        partition = -1;
        var underscore = id.LastIndexOf('_');
        return id.StartsWith("evt_", StringComparison.Ordinal)
            && underscore > 4
            && int.TryParse(id.AsSpan(underscore + 1), System.Globalization.NumberStyles.None, null, out partition)
            && partition < partitions;
    }

    /// <summary>The time an id was made (its ULID's 48-bit millisecond part), which is when its event was received.</summary>
    public static bool TryGetTime(string id, out DateTimeOffset time)
    {
        time = default;
        if (!id.StartsWith("evt_", StringComparison.Ordinal) || id.Length < 4 + 26)
        {
            return false;
        }

        long ms = 0;
        foreach (var c in id.AsSpan(4, 10))
        {
            var digit = Crockford.IndexOf(c, StringComparison.Ordinal);
            if (digit < 0)
            {
                return false;
            }

            ms = (ms << 5) | (long)digit;
        }

        if (ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            return false;
        }

        time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return true;
    }

    /// <summary>Stable partition of an ordering key (FNV-1a over UTF-8): the same key maps to the same partition on every replica.</summary>
    public static int PartitionOf(string orderingKey, int partitions)
    {
        var hash = 2166136261u;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetByteCount(orderingKey) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(orderingKey, buffer)] : Encoding.UTF8.GetBytes(orderingKey);
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % (uint)partitions);
    }
}

/// <summary>
/// An entry of a ready list: <c>&lt;event id&gt;|&lt;unix ms it became ready&gt;</c> (written by the scripts' ready_entry).
/// </summary>
internal static class ReadyEntry
{
    /// <summary>When the entry became ready; for an entry without a time, the event's own received-at (from its id); null for none.</summary>
    public static long? ReadyAt(StackExchange.Redis.RedisValue entry)
    {
        if (entry.IsNullOrEmpty)
        {
            return null;
        }

        var text = (string)entry!;
        var bar = text.IndexOf(StoreWords.ReadySeparator, StringComparison.Ordinal);
        if (bar >= 0 && long.TryParse(text.AsSpan(bar + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var at))
        {
            return at;
        }

        return EventIds.TryGetTime(bar >= 0 ? text[..bar] : text, out var received) ? received.ToUnixTimeMilliseconds() : null;
    }
}
