using System.Collections;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Primitives;

namespace Relay.Conditions;

/// <summary>
/// The event's data as the CEL package's values: a map is a <c>Dictionary&lt;string, object?&gt;</c> (the one map type
/// it selects fields of), a list an <see cref="EventList"/>, a JSON number a <c>long</c> when it is written as an integer
/// that fits, else a <c>double</c>.
/// </summary>
internal static class ConditionValues
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    /// <summary>A JSON body (or a source kind's JSON for one event) as a value; a problem when it is not JSON.</summary>
    public static ConditionBody FromJson(ReadOnlySpan<byte> json, CostMeter meter)
    {
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read())
            {
                return ConditionBody.Unreadable("body is empty, not JSON");
            }

            var value = Read(ref reader, meter);
            return reader.Read() ? ConditionBody.Unreadable("body is not JSON") : ConditionBody.Of(value);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string whose bytes are not UTF-8, found only when it is read.
            return ConditionBody.Unreadable("body is not JSON");
        }
    }

    /// <summary>
    /// Form fields (or a query string's) as a map of string to string. Names compare case-insensitively, as the source
    /// kinds read them; a repeated field's values are joined with ", ".
    /// </summary>
    public static Dictionary<string, object?> FromFields(IReadOnlyDictionary<string, StringValues> fields)
    {
        var map = new Dictionary<string, object?>(fields.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in fields)
        {
            map[name] = Join(values);
        }

        return map;
    }

    /// <summary>Request headers as a map of lower-case name to value; a repeated header's values are joined with ", ".</summary>
    public static Dictionary<string, object?> FromHeaders(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var map = new Dictionary<string, object?>(headers.Count, StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            var key = name.ToLowerInvariant();
            map[key] = map.TryGetValue(key, out var earlier) ? $"{earlier}, {value}" : value;
        }

        return map;
    }

    private static string Join(StringValues values) => values.Count == 1 ? values[0] ?? "" : string.Join(", ", values.ToArray());

    private static object? Read(ref Utf8JsonReader reader, CostMeter meter)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var map = new Dictionary<string, object?>();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    map[name] = Read(ref reader, meter);
                }

                return map;
            case JsonTokenType.StartArray:
                var items = new List<object?>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    items.Add(Read(ref reader, meter));
                }

                return new EventList([.. items], meter);
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Number:
                return Number(ref reader);
            case JsonTokenType.True:
                return true;
            case JsonTokenType.False:
                return false;
            case JsonTokenType.Null:
                return null;
            default:
                throw new JsonException($"unexpected {reader.TokenType}");
        }
    }

    /// <summary>
    /// <c>long</c> for <c>4</c> (so <c>body.DocStatus == 4</c> and <c>int()</c> behave as written), <c>double</c> for
    /// <c>4.0</c>, <c>4e0</c> or an integer past 64 bits. CEL compares <c>4 == 4.0</c> as true either way.
    /// </summary>
    private static object Number(ref Utf8JsonReader reader)
    {
        var raw = reader.ValueSpan;
        if (raw.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0 && reader.TryGetInt64(out var integer))
        {
            return integer;
        }

        // Past double's range (1e400) the reader gives up; parsing the text gives infinity, as JavaScript would.
        return reader.TryGetDouble(out var real) ? real : double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}

/// <summary>What <c>body</c> is for one event: a value, or why it cannot be read (then a condition naming it fails).</summary>
internal readonly record struct ConditionBody(object? Value, string? Problem)
{
    public static ConditionBody Of(object? value) => new(value, null);

    public static ConditionBody Unreadable(string problem) => new(null, problem);
}

/// <summary>
/// A list of the event's (a JSON array, the tags): every item read is a step of the evaluation's meter, so a
/// comprehension over the body, however nested, is counted per item and stopped at the cap.
/// </summary>
internal sealed class EventList(object?[] items, CostMeter meter) : IList, IReadOnlyList<object?>
{
    public int Count => items.Length;

    public bool IsFixedSize => true;

    public bool IsReadOnly => true;

    public bool IsSynchronized => false;

    public object SyncRoot => items;

    public object? this[int index]
    {
        get
        {
            meter.Step();
            return items[index];
        }

        set => throw new NotSupportedException("event data is read-only");
    }

    public IEnumerator<object?> GetEnumerator()
    {
        foreach (var item in items)
        {
            meter.Step();
            yield return item;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Contains(object? value) => IndexOf(value) >= 0;

    public int IndexOf(object? value)
    {
        for (var i = 0; i < items.Length; i++)
        {
            meter.Step();
            if (Equals(items[i], value))
            {
                return i;
            }
        }

        return -1;
    }

    public void CopyTo(Array array, int index)
    {
        foreach (var _ in items)
        {
            meter.Step();
        }

        items.CopyTo(array, index);
    }

    public int Add(object? value) => throw new NotSupportedException("event data is read-only");

    public void Clear() => throw new NotSupportedException("event data is read-only");

    public void Insert(int index, object? value) => throw new NotSupportedException("event data is read-only");

    public void Remove(object? value) => throw new NotSupportedException("event data is read-only");

    public void RemoveAt(int index) => throw new NotSupportedException("event data is read-only");
}
