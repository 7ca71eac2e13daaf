namespace Relay.Sources;

/// <summary>
/// A source's own keys in relay.yaml, as its kind reads them. A read never throws: a missing or malformed value records
/// a problem naming its full key and how to fix it, and the fallback is returned, so that loading reports every problem
/// of the file at once. Configuration implements this; it is all a kind sees of configuration.
/// </summary>
internal interface IKindSettings
{
    /// <summary>Every problem recorded so far in the whole file: a kind compares the count before and after its reads.</summary>
    IReadOnlyList<string> Errors { get; }

    bool Exists(string key);

    /// <summary>Whether a problem has been recorded for <paramref name="key"/> of this section.</summary>
    bool HasProblem(string key);

    /// <summary>A nested section, e.g. <c>verify</c> or <c>reconnect</c>; its problems are named with the full key.</summary>
    IKindSettings Section(string key);

    /// <summary>A text value with <c>${NAME}</c> expanded from the environment; <paramref name="fallback"/> when absent.</summary>
    string? String(string key, string? fallback = null);

    /// <summary>A text value that must be present and non-empty; "" (with a problem recorded) otherwise.</summary>
    string RequiredString(string key, string howToFix);

    /// <summary>A list of text values; a single scalar counts as a list of one.</summary>
    IReadOnlyList<string> Strings(string key);

    /// <summary>A file path, resolved against the config file's folder when relative; null when absent.</summary>
    string? FilePath(string key);

    /// <summary>
    /// A required absolute http(s) URL; null (with a problem recorded) when missing or not one. The problem never
    /// quotes the value: a URL's query string may carry credentials.
    /// </summary>
    Uri? HttpUrl(string key, string howToFix);

    /// <summary>A duration such as <c>250ms</c>, <c>5s</c>, <c>2m</c>; a value outside [min, max] is a problem.</summary>
    TimeSpan Duration(string key, TimeSpan fallback, TimeSpan? min = null, TimeSpan? max = null);

    /// <summary>A whole number; a value outside [min, max] is a problem.</summary>
    long Long(string key, long fallback, long min, long max);

    bool Bool(string key, bool fallback);

    /// <summary>One of a fixed set of words, matched case-insensitively; returns the word as written in <paramref name="allowed"/>.</summary>
    string OneOf(string key, string fallback, params string[] allowed);

    /// <summary>Records a problem with <paramref name="key"/> (relative to this section).</summary>
    void Error(string key, string message);
}
