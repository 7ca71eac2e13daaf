using System.Collections;

namespace Relay.Conditions;

/// <summary>
/// What one event offers its routes' conditions: <c>type</c>, <c>source</c>, <c>tags</c>, <c>headers</c> and
/// <c>body</c>. Headers and body are built on first use and then shared by every route of the event, so a body is
/// parsed once however many conditions read it, and not at all when none does. Not for concurrent use: one event's
/// routes are decided one after another.
/// </summary>
internal sealed class ConditionVariables
{
    public const string Type = "type";
    public const string Source = "source";
    public const string Tags = "tags";
    public const string Headers = "headers";
    public const string Body = "body";

    /// <summary>The names an expression may use, in the order the docs give them.</summary>
    public static readonly IReadOnlyList<string> Names = [Type, Source, Tags, Headers, Body];

    private readonly string _type;
    private readonly string _source;
    private readonly EventList _tags;
    private readonly Func<Dictionary<string, object?>> _readHeaders;
    private readonly Func<CostMeter, ConditionBody> _readBody;
    private Dictionary<string, object?>? _headers;
    private ConditionBody? _body;

    /// <param name="readHeaders">Builds <c>headers</c>, on first use.</param>
    /// <param name="readBody">Builds <c>body</c>, on first use; lists in it count their items on the meter it is given.</param>
    public ConditionVariables(string type, string source, IReadOnlyList<string> tags, Func<Dictionary<string, object?>> readHeaders, Func<CostMeter, ConditionBody> readBody)
    {
        _type = type;
        _source = source;
        _tags = new EventList([.. tags], Meter);
        _readHeaders = readHeaders;
        _readBody = readBody;
        Lookup = new VariableLookup(this);
    }

    public CostMeter Meter { get; } = new();

    /// <summary>How many times the body was built: 0 or 1.</summary>
    public int BodyReads { get; private set; }

    /// <summary>The variables as the CEL package asks for them.</summary>
    public IDictionary<string, object?> Lookup { get; }

    /// <summary>
    /// The last field the current evaluation asked for and did not find, as <c>no field x in body.data</c>: the
    /// package's own words for it name one of its types (<c>CelNoSuchField</c>), not the field.
    /// </summary>
    public string? MissingField { get; private set; }

    /// <summary>Starts a new evaluation: the meter from zero, no field missing yet.</summary>
    public void Start()
    {
        Meter.Start();
        MissingField = null;
    }

    /// <summary>
    /// Resolves a name the package asks for: every name is a step of the meter. A dotted path (<c>body.data.id</c>) is
    /// resolved here when each part is a map key, because the package, before it selects field by field, asks for the
    /// whole path and would otherwise search its protobuf descriptors at every dot (about 20 µs each). When a part is
    /// missing the answer is "not found", and the package walks the path itself and reports the missing field.
    /// </summary>
    private bool TryResolve(string name, out object? value)
    {
        Meter.Step();
        var path = name.AsSpan();
        var dot = path.IndexOf('.');
        if (!TryRoot(dot < 0 ? path : path[..dot], out value))
        {
            return false;
        }

        while (dot >= 0)
        {
            var parent = name.AsSpan(0, name.Length - path.Length + dot);
            path = path[(dot + 1)..];
            dot = path.IndexOf('.');
            var part = dot < 0 ? path : path[..dot];
            if (value is not Dictionary<string, object?> map || !IsIdentifier(part))
            {
                value = null;
                return false;
            }

            if (!map.TryGetValue(part.ToString(), out value))
            {
                MissingField = $"no field {part} in {parent}";
                return false;
            }
        }

        return true;
    }

    private bool TryRoot(ReadOnlySpan<char> name, out object? value)
    {
        value = name switch
        {
            Type => _type,
            Source => _source,
            Tags => _tags,
            Headers => _headers ??= _readHeaders(),
            Body => ReadBody(),
            _ => null,
        };
        return value is not null || name.SequenceEqual(Body);
    }

    private object? ReadBody()
    {
        if (_body is null)
        {
            BodyReads++;
            _body = _readBody(Meter);
        }

        return _body.Value.Problem is { } problem ? throw new ConditionDataException(problem) : _body.Value.Value;
    }

    // A path part such as data['x'] or ?x (optional selection) is left to the package.
    private static bool IsIdentifier(ReadOnlySpan<char> part) =>
        part.Length > 0 && !char.IsAsciiDigit(part[0]) && !part.ContainsAnyExcept(IdentifierChars);

    private static readonly System.Buffers.SearchValues<char> IdentifierChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    /// <summary>The package takes its variables as a dictionary and only ever calls <c>TryGetValue</c>.</summary>
    private sealed class VariableLookup(ConditionVariables variables) : IDictionary<string, object?>
    {
        public bool TryGetValue(string key, out object? value) => variables.TryResolve(key, out value);

        public bool ContainsKey(string key) => TryGetValue(key, out _);

        public object? this[string key]
        {
            get => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);
            set => throw ReadOnly();
        }

        public ICollection<string> Keys => [.. Names];

        public ICollection<object?> Values => throw new NotSupportedException("the variables are built on demand");

        public int Count => Names.Count;

        public bool IsReadOnly => true;

        public void Add(string key, object? value) => throw ReadOnly();

        public void Add(KeyValuePair<string, object?> item) => throw ReadOnly();

        public void Clear() => throw ReadOnly();

        public bool Contains(KeyValuePair<string, object?> item) => TryGetValue(item.Key, out var value) && Equals(value, item.Value);

        public void CopyTo(KeyValuePair<string, object?>[] array, int arrayIndex) => throw new NotSupportedException("the variables are built on demand");

        public bool Remove(string key) => throw ReadOnly();

        public bool Remove(KeyValuePair<string, object?> item) => throw ReadOnly();

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => throw new NotSupportedException("the variables are built on demand");

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        private static NotSupportedException ReadOnly() => new("the variables are read-only");
    }
}
