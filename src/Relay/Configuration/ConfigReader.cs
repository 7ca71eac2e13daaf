using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using Relay.Sources;

namespace Relay.Configuration;

/// <summary>
/// Reads one section of relay.yaml, expanding <c>${NAME}</c> (or <c>${NAME:-default}</c>) from the environment, and records every
/// problem instead of throwing, so that validation can report all of them at once (YARP ConfigValidator style).
/// Each message names the full key and says how to fix it. Every key asked for is recorded in <see cref="ConfigKeys"/>, so
/// that the keys nobody asked for can be reported too.
/// </summary>
internal sealed partial class ConfigReader : IKindSettings
{
    private readonly IConfiguration _section;
    private readonly List<string> _errors;
    private readonly Func<string, string?> _environment;
    private readonly string? _baseDirectory;
    private readonly ConfigKeys _keys;

    /// <param name="baseDirectory">Folder of the config file, against which <see cref="FilePath"/> resolves relative paths.</param>
    /// <param name="keys">Where the keys asked for are recorded; shared by every reader of one load.</param>
    public ConfigReader(IConfiguration section, string path, List<string> errors, Func<string, string?> environment, string? baseDirectory, ConfigKeys keys)
    {
        _section = section;
        Path = path;
        _errors = errors;
        _environment = environment;
        _baseDirectory = baseDirectory;
        _keys = keys;
    }

    /// <summary>The full key of this section, e.g. <c>sources:yousign</c>.</summary>
    public string Path { get; }

    public IReadOnlyList<string> Errors => _errors;

    public bool Exists(string key)
    {
        _keys.Asked(Key(key));
        return _section.GetSection(key).Exists();
    }

    public bool HasProblem(string key)
    {
        var prefix = Key(key) + ":";
        return _errors.Exists(e => e.StartsWith(prefix, StringComparison.Ordinal));
    }

    public ConfigReader Section(string key)
    {
        _keys.AskedAsSection(Key(key));
        return new(_section.GetSection(key), Key(key), _errors, _environment, _baseDirectory, _keys);
    }

    IKindSettings IKindSettings.Section(string key) => Section(key);

    /// <summary>Every child section, e.g. each source under <c>sources</c>, each route of a list.</summary>
    public IEnumerable<(string Key, ConfigReader Reader)> Children() => _section.GetChildren().Select(c =>
    {
        _keys.AskedAsSection(Key(c.Key));
        return (c.Key, new ConfigReader(c, Key(c.Key), _errors, _environment, _baseDirectory, _keys));
    });

    /// <summary>Leaves <paramref name="key"/> and everything below it out of the unknown-key check (see <see cref="ConfigKeys.Ignore"/>).</summary>
    public void Ignore(string key) => _keys.Ignore(Key(key));

    public string Key(string key) => Path.Length == 0 ? key : $"{Path}:{key}";

    public void Error(string key, string message) => _errors.Add($"{Key(key)}: {message}");

    public string? String(string key, string? fallback = null)
    {
        _keys.AskedAsValue(Key(key));
        var raw = _section[key];
        return raw is null ? fallback : Expand(key, raw);
    }

    public string RequiredString(string key, string howToFix)
    {
        var errorsBefore = _errors.Count;
        var value = String(key);
        if (string.IsNullOrEmpty(value))
        {
            // A missing environment variable was reported already; one message per problem.
            if (_errors.Count == errorsBefore)
            {
                Error(key, $"is required. {howToFix}");
            }

            return "";
        }

        return value;
    }

    /// <summary>Reads a file path, resolved against the config file's folder when relative (like <c>store.dataDir</c>).</summary>
    public string? FilePath(string key)
    {
        var text = String(key);
        return string.IsNullOrEmpty(text) ? null : System.IO.Path.GetFullPath(text, _baseDirectory ?? Directory.GetCurrentDirectory());
    }

    public IReadOnlyList<string> Strings(string key)
    {
        _keys.AskedAsValue(Key(key));
        var section = _section.GetSection(key);
        if (section.Value is { } single)
        {
            return [Expand(key, single)];
        }

        var values = new List<string>();
        foreach (var item in section.GetChildren())
        {
            _keys.AskedAsValue(Key($"{key}:{item.Key}"));
            if (item.Value is { } value)
            {
                values.Add(Expand($"{key}:{item.Key}", value));
            }
            else if (!item.GetChildren().Any())
            {
                // An empty item (`- ~`, or a template value that rendered to nothing) is a mistake, never "no entry":
                // silently dropping it could widen a filter or empty an allow list.
                Error($"{key}:{item.Key}", "is empty. Give it a value, or remove the item.");
            }
        }

        return values;
    }

    /// <inheritdoc cref="IKindSettings.HttpUrl"/>
    public Uri? HttpUrl(string key, string howToFix)
    {
        var text = RequiredString(key, howToFix);
        if (text.Length == 0)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            Error(key, "is not an absolute http or https URL. Write it in full, e.g. https://host/path.");
            return null;
        }

        return url;
    }

    public TimeSpan Duration(string key, TimeSpan fallback, TimeSpan? min = null, TimeSpan? max = null)
    {
        var text = String(key);
        if (text is null)
        {
            return fallback;
        }

        if (!Durations.TryParse(text, out var value))
        {
            Error(key, $"'{text}' is not a duration. Write a number and a unit: 250ms, 5s, 2m, 1h or 7d.");
            return fallback;
        }

        if (min is { } floor && value < floor)
        {
            Error(key, $"{text} is too short; use at least {Durations.Format(floor)}.");
        }

        if (max is { } ceiling && value > ceiling)
        {
            Error(key, $"{text} is too long; use at most {Durations.Format(ceiling)}.");
        }

        return value;
    }

    /// <summary>Reads a size in bytes written with a unit (<see cref="ByteSizes"/>), within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public long Size(string key, long fallback, long min, long max)
    {
        var text = String(key);
        if (text is null)
        {
            return fallback;
        }

        if (!ByteSizes.TryParse(text, out var value))
        {
            Error(key, $"'{text}' is not a size. Write a number and a unit: 512m or 2g.");
            return fallback;
        }

        if (value < min || value > max)
        {
            Error(key, $"{text} is out of range; use {ByteSizes.Format(min)} to {ByteSizes.Format(max)}.");
        }

        return value;
    }

    public int Int(string key, int fallback, int min, int max) => Number(key, fallback, min, max, NumberStyles.Integer, "a whole number");

    public long Long(string key, long fallback, long min, long max) => Number(key, fallback, min, max, NumberStyles.Integer, "a whole number");

    public double Double(string key, double fallback, double min, double max) => Number(key, fallback, min, max, NumberStyles.Float, "a number");

    public bool Bool(string key, bool fallback)
    {
        var text = String(key);
        if (text is null)
        {
            return fallback;
        }

        if (!bool.TryParse(text, out var value))
        {
            Error(key, $"'{text}' must be true or false.");
            return fallback;
        }

        return value;
    }

    /// <summary>Reads one of a fixed set of words, case-insensitively.</summary>
    public string OneOf(string key, string fallback, params string[] allowed)
    {
        var text = String(key);
        if (text is null)
        {
            return fallback;
        }

        var match = allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            Error(key, $"'{text}' is not one of: {string.Join(", ", allowed)}.");
            return fallback;
        }

        return match;
    }

    private T Number<T>(string key, T fallback, T min, T max, NumberStyles style, string what)
        where T : INumber<T>
    {
        var text = String(key);
        if (text is null)
        {
            return fallback;
        }

        if (!T.TryParse(text, style, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(key, $"'{text}' must be {what} from {min} to {max}.");
            return fallback;
        }

        return value;
    }

    private string Expand(string key, string raw) => EnvReference().Replace(raw, m =>
    {
        var name = m.Groups[1].Value;
        var value = _environment(name) ?? (m.Groups[2].Success ? m.Groups[2].Value : null);
        if (value is null)
        {
            Error(key, $"environment variable {name} is not set. Export {name} before starting Relay, or replace ${{{name}}} with a value.");
            return "";
        }

        return value;
    });

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")]
    private static partial Regex EnvReference();
}
