using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Relay.Sources;

/// <summary>Reads <c>application/x-www-form-urlencoded</c> fields from a body or a query string, without model binding.</summary>
internal static class FormBody
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool IsForm(string? contentType) =>
        contentType is not null && contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The most fields a form may have. Vendors send a few dozen; parsing builds a dictionary of every field, so a form
    /// of 200,000 fields (within the body limit) would cost the relay half a second each and starve genuine callbacks.
    /// </summary>
    public const int MaxFields = 1000;

    /// <summary>Parses a form body; false, with the reason, when it is not UTF-8 text or has too many fields.</summary>
    public static bool TryParse(byte[] body, out Dictionary<string, StringValues> fields, out string problem)
    {
        try
        {
            return TryParse(StrictUtf8.GetString(body), out fields, out problem);
        }
        catch (DecoderFallbackException)
        {
            (fields, problem) = ([], "body is not UTF-8 form data");
            return false;
        }
    }

    /// <summary>Parses form text (a body, or a query string); false, with the reason, when it has too many fields.</summary>
    public static bool TryParse(string text, out Dictionary<string, StringValues> fields, out string problem)
    {
        // Counted before parsing, so an oversized form costs one pass over its text and nothing more.
        if (text.AsSpan().Count('&') >= MaxFields)
        {
            (fields, problem) = ([], $"the form has more than {MaxFields} fields");
            return false;
        }

        (fields, problem) = (Parse(text), "");
        return true;
    }

    /// <summary>
    /// Parses <c>a=1&amp;b=2</c>, with or without a leading <c>?</c>; percent-escapes and <c>+</c> are decoded, and field
    /// names compare case-insensitively (as ASP.NET Core's own form and query readers do).
    /// </summary>
    public static Dictionary<string, StringValues> Parse(string text) =>
        QueryHelpers.ParseNullableQuery(text) ?? new Dictionary<string, StringValues>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The single value of a field; null when absent, empty or repeated.</summary>
    public static string? Single(Dictionary<string, StringValues> fields, string name) =>
        fields.TryGetValue(name, out var values) && values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
}
